//! Where the real AWS samples are: `shared/data` beside the repository, as CI lays it out.

use std::path::PathBuf;

/// `shared/data/<path>`, or `None` (with a note) when the samples are not beside the repo.
pub fn shared(path: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir.join(path))
    } else {
        eprintln!(
            "note: {} is absent; skipping the real-sample test",
            dir.display()
        );
        None
    }
}
