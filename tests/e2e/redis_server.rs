//! A real `redis-server` (Debian's) per test, on 127.0.0.1 and a free port,
//! with its files in a fresh scratch directory; `redis-cli` looks inside.
//! Each is started under `setpriv --pdeathsig KILL`, so it dies with the
//! test thread that started it, and is killed when dropped.

use crate::support::{fresh, have_tool};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a server is started.
#[derive(Default, Clone)]
pub struct Config {
    /// `requirepass`.
    pub password: Option<String>,
    /// Keep every write in an append-only file (`appendfsync always`), so
    /// a restart finds what was written before the stop.
    pub persist: bool,
    /// Serve TLS only, with a certificate of this test CA (`ca.pem` and
    /// `leaf.pem` in the directory).
    pub tls: bool,
}

/// A running server.
pub struct Redis {
    /// Its port.
    pub port: u16,
    /// Its directory (data, certificates).
    pub dir: PathBuf,
    config: Config,
    child: Option<Child>,
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Redis {
    /// A plain server, or `None` when the tools are missing outside CI.
    pub fn start() -> Option<Redis> {
        Redis::start_with(Config::default())
    }

    /// A server started with `config`, or `None` as above.
    pub fn start_with(config: Config) -> Option<Redis> {
        for tool in ["redis-server", "redis-cli", "setpriv"] {
            if !have_tool(tool) {
                return None;
            }
        }
        if config.tls && !have_tool("openssl") {
            return None;
        }
        let dir = fresh("redis");
        std::fs::create_dir_all(&dir).unwrap();
        if config.tls {
            crate::registry_server::make_ca(&dir, "ca", true);
        }
        let mut redis = Redis {
            port: free_port(),
            dir,
            config,
            child: None,
        };
        redis.spawn();
        Some(redis)
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "redis-server"])
            .args(["--bind", "127.0.0.1", "--save", "", "--dir"])
            .arg(&self.dir)
            .args(["--logfile", "redis.log"]);
        if self.config.tls {
            let file = |name: &str| self.dir.join(name);
            cmd.args([
                "--port",
                "0",
                "--tls-port",
                &port,
                "--tls-auth-clients",
                "no",
            ])
            .arg("--tls-cert-file")
            .arg(file("leaf.pem"))
            .arg("--tls-key-file")
            .arg(file("leaf.key"))
            .arg("--tls-ca-cert-file")
            .arg(file("ca.pem"));
        } else {
            cmd.args(["--port", &port]);
        }
        if self.config.persist {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        if let Some(password) = &self.config.password {
            cmd.args(["--requirepass", password]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let started = Instant::now();
        while self.try_cli(&["PING"]).as_deref() != Some("PONG") {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "redis-server did not answer on port {}: {}",
                self.port,
                std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `redis://127.0.0.1:PORT/DB` (`rediss://` with TLS), no password.
    pub fn url(&self, db: u32) -> String {
        let scheme = if self.config.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/{db}", self.port)
    }

    fn try_cli(&self, args: &[&str]) -> Option<String> {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if self.config.tls {
            cmd.arg("--tls")
                .arg("--cacert")
                .arg(self.dir.join("ca.pem"));
        }
        if let Some(password) = &self.config.password {
            cmd.args(["--no-auth-warning", "-a", password]);
        }
        let out = cmd.args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// `redis-cli ARGS` on database 0; its output, which must come.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("redis-cli {args:?} failed"))
    }

    /// Stops the server the way an operator would (SIGTERM: it shuts down
    /// cleanly, and writes its append-only file out).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_signal(child.id(), "TERM");
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

/// `kill -SIGNAL PID`.
pub fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
