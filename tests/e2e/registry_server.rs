//! Real registries for the registry tests: Debian's `docker-registry`
//! (CNCF distribution) on 127.0.0.1, one open and one behind htpasswd
//! basic auth, each started once per test process with its storage in the
//! scratch directory, and filled with Debian's `skopeo`.
//!
//! Each registry is started under `setpriv --pdeathsig KILL` from a thread
//! that waits for it: the kernel kills it when that thread, and so the test
//! process, goes away.

use crate::support::{fresh, have_tool};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The user the authenticated registry knows.
pub const USER: (&str, &str) = ("alice", "s3cret-pass");

/// A running registry.
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// Its storage directory.
    pub storage: PathBuf,
    /// Whether it asks for [`USER`].
    pub auth: bool,
    /// The CA that signed its certificate, when it serves TLS.
    pub ca: Option<PathBuf>,
}

/// The open registry, or `None` when the tools are missing outside CI.
pub fn open_registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| start("open", false, false))
        .as_ref()
}

/// The registry behind basic auth, or `None` as above.
pub fn auth_registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| start("auth", false, true)).as_ref()
}

/// The registry serving TLS with a certificate of its own test CA, or
/// `None` as above.
pub fn tls_registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| start("tls", true, false)).as_ref()
}

/// A fresh CA in `dir` (`NAME.pem`, `NAME.key`); with `leaf`, also a
/// server certificate for 127.0.0.1 it signed (`leaf.pem`, `leaf.key`).
pub fn make_ca(dir: &Path, name: &str, leaf: bool) -> PathBuf {
    let mut script = format!(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=imgscan-test-{name} \
         -keyout {name}.key -out {name}.pem"
    );
    if leaf {
        script.push_str(&format!(
            " && printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > leaf.ext \
             && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout leaf.key -out leaf.csr \
             && openssl x509 -req -in leaf.csr -CA {name}.pem -CAkey {name}.key -CAcreateserial -days 2 \
                -extfile leaf.ext -out leaf.pem"
        ));
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join(format!("{name}.pem"))
}

fn start(name: &str, tls: bool, auth: bool) -> Option<Registry> {
    for tool in [
        "docker-registry",
        "skopeo",
        "setpriv",
        "htpasswd",
        "openssl",
    ] {
        if !have_tool(tool) {
            return None;
        }
    }
    let dir = fresh(&format!("registry-{name}"));
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n",
        storage.display()
    );
    let ca = tls.then(|| make_ca(&dir, "ca", true));
    if tls {
        config.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("leaf.pem").display(),
            dir.join("leaf.key").display()
        ));
    }
    if auth {
        let htpasswd = dir.join("htpasswd");
        let out = Command::new("htpasswd")
            .args(["-Bbn", USER.0, USER.1])
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(&htpasswd, out.stdout).unwrap();
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: imgscan-test\n    path: {}\n",
            htpasswd.display()
        ));
    }
    let config_file = dir.join("config.yml");
    std::fs::write(&config_file, config).unwrap();
    let log = dir.join("registry.log");
    std::thread::spawn(move || {
        let log = std::fs::File::create(&log).unwrap();
        // Waiting keeps this thread, the registry's parent, alive for as
        // long as the registry runs.
        let _ = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "docker-registry", "serve"])
            .arg(&config_file)
            .stdout(Stdio::null())
            .stderr(log)
            .status();
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&host).is_err() {
        assert!(
            Instant::now() < deadline,
            "the registry at {host} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Registry {
        host,
        storage,
        auth,
        ca,
    })
}

impl Registry {
    /// Pushes the image at `source` (a skopeo transport reference such as
    /// `oci:DIR:TAG`) to `REPO:TAG` here with skopeo; `all` copies every
    /// image of an index. Returns the reference pushed to.
    pub fn push(&self, source: &str, repo_tag: &str, all: bool) -> String {
        let policy = fresh("skopeo-policy.json");
        std::fs::write(
            &policy,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        let dest = format!("{}/{repo_tag}", self.host);
        let mut cmd = Command::new("skopeo");
        cmd.arg("--policy")
            .arg(&policy)
            .args(["copy", "--dest-tls-verify=false"]);
        if all {
            cmd.arg("--all");
        }
        if self.auth {
            cmd.arg("--dest-creds")
                .arg(format!("{}:{}", USER.0, USER.1));
        }
        let out = cmd
            .arg(source)
            .arg(format!("docker://{dest}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo push to {dest} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dest
    }

    /// Where the registry keeps the bytes of blob `digest` (`sha256:…`).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        Path::new(&self.storage)
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}
