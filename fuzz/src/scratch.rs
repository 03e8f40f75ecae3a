//! A scratch directory per fuzzing process, for the parsers whose entry
//! point reads a file by path (qcow2, OVA, VMDK descriptors, whole disk
//! images, OSV imports): below `$IMGSCAN_FUZZ_SCRATCH` (which
//! `scripts/fuzz.sh` makes and removes), else on tmpfs when there is one.

use std::path::PathBuf;
use std::sync::OnceLock;

/// This process's scratch directory, made on first use.
pub fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let base = match std::env::var_os("IMGSCAN_FUZZ_SCRATCH") {
            Some(dir) => PathBuf::from(dir),
            None if shm.is_dir() => shm,
            None => std::env::temp_dir(),
        };
        let dir = base.join(format!("imgscan-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// Writes `data` to the scratch file `name` and returns its path.
pub fn file(name: &str, data: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, data).expect("scratch file");
    path
}
