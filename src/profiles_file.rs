//! Reading a profiles file (or standard input for `-`) into a [`Wall`], with errors that name
//! the file: `walls.txt:3:7: '31' is not a height (0..=30)`.

use std::io::Read;
use std::path::Path;

use crate::wall::Wall;

/// Loads and parses a profiles file. The error is one line naming the file (and line/column).
pub fn load(path: &Path, max_sections: usize) -> Result<Wall, String> {
    let (name, bytes) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("<stdin>: cannot read: {e}"))?;
        ("<stdin>".to_string(), bytes)
    } else {
        let name = crate::text::sanitize(&path.display().to_string());
        let bytes = std::fs::read(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        (name, bytes)
    };
    Wall::parse(&bytes, max_sections).map_err(|e| match e.line {
        0 => format!("{name}: {e}"),
        _ => format!("{name}:{e}"),
    })
}
