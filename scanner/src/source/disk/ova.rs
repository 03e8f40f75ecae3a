//! OVA appliances (what VMware, VirtualBox and many clouds export): a tar
//! whose first member is the OVF descriptor, followed by the disk files it
//! references. The disks are read in place, as regions of the tar, never
//! extracted; only members the descriptor's `<File ovf:href=…>` names are
//! opened, and a name that is not a plain member name (`../x`, `/x`,
//! `a/b`) is refused.

use super::device::{BoxedDevice, Format, Raw};
use super::error::DiskError;
use std::fs::File;
use std::os::unix::fs::FileExt;

const BLOCK: u64 = 512;
/// Most members listed, and the largest descriptor read.
const MAX_MEMBERS: usize = 4096;
const MAX_OVF: u64 = 4 << 20;

/// A member of the tar: its name and where its bytes are.
struct Member {
    name: String,
    start: u64,
    size: u64,
}

/// An opened OVA.
pub struct Ova {
    file: File,
    members: Vec<Member>,
    disks: Vec<String>,
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn cstr(field: &[u8]) -> &[u8] {
    &field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())]
}

impl Ova {
    /// Lists the tar's members and reads the descriptor.
    pub fn open(file: File, size: u64) -> Result<Self, DiskError> {
        let mut members = Vec::new();
        let mut at = 0u64;
        while at + BLOCK <= size && members.len() < MAX_MEMBERS {
            let mut header = [0u8; BLOCK as usize];
            file.read_exact_at(&mut header, at)
                .map_err(|e| Format::Ova.error(format!("OVA tar header at {at}: {e}")))?;
            if header.iter().all(|&b| b == 0) {
                break;
            }
            let length = octal(&header[124..136]).ok_or_else(|| {
                Format::Ova.error(format!("OVA tar header at {at} has a bad size"))
            })?;
            let start = at + BLOCK;
            if start.checked_add(length).is_none_or(|end| end > size) {
                return Err(Format::Ova.error(format!(
                    "OVA member at {at} runs past the end: the file is truncated"
                )));
            }
            let mut name = cstr(&header[..100]).to_vec();
            if &header[257..262] == b"ustar" && header[345] != 0 {
                let mut full = cstr(&header[345..500]).to_vec();
                full.push(b'/');
                full.extend(name);
                name = full;
            }
            if matches!(header[156], 0 | b'0') {
                members.push(Member {
                    name: String::from_utf8_lossy(&name).into_owned(),
                    start,
                    size: length,
                });
            }
            at = start + length.div_ceil(BLOCK) * BLOCK;
        }
        let ovf = members
            .first()
            .filter(|m| m.name.ends_with(".ovf"))
            .ok_or_else(|| Format::Ova.error("OVA whose first member is not an .ovf descriptor"))?;
        if ovf.size > MAX_OVF {
            return Err(
                Format::Ova.error(format!("OVF descriptor of {} bytes is too large", ovf.size))
            );
        }
        let mut text = vec![0u8; ovf.size as usize];
        file.read_exact_at(&mut text, ovf.start)
            .map_err(|e| Format::Ova.error(format!("OVF descriptor: {e}")))?;
        let disks = referenced_files(&String::from_utf8_lossy(&text))?;
        if disks.is_empty() {
            return Err(Format::Ova.error("OVF descriptor references no disk file"));
        }
        Ok(Ova {
            file,
            members,
            disks,
        })
    }

    /// The disk files the descriptor references, in its order.
    pub fn disks(&self) -> &[String] {
        &self.disks
    }

    /// Disk `index` as a region of the tar, with its name.
    pub fn open_disk(&self, index: usize) -> Result<(String, BoxedDevice), DiskError> {
        let name = self
            .disks
            .get(index)
            .ok_or_else(|| Format::Ova.error(format!("the OVA has no disk {index}")))?;
        let member = self
            .members
            .iter()
            .find(|m| m.name == *name)
            .ok_or_else(|| {
                Format::Ova.error(format!(
                    "the OVF names `{name}`, which the OVA does not hold"
                ))
            })?;
        let file = self.file.try_clone()?;
        Ok((
            name.clone(),
            Box::new(Raw::new(file, member.start, member.size)),
        ))
    }
}

/// The `ovf:href` of every `<File>` of the descriptor's `<References>`.
/// Compressed (`ovf:compression`) or chunked files are refused, and so is
/// any name that is not a plain member name.
fn referenced_files(ovf: &str) -> Result<Vec<String>, DiskError> {
    let mut files = Vec::new();
    for element in ovf.split('<').skip(1) {
        let Some(attributes) = element
            .strip_prefix("File ")
            .or_else(|| element.strip_prefix("ovf:File "))
        else {
            continue;
        };
        let attributes = attributes.split('>').next().unwrap_or_default();
        let value = |key: &str| {
            let at = attributes.find(&format!("{key}=\""))? + key.len() + 2;
            attributes[at..].split('"').next()
        };
        let Some(href) = value("ovf:href").or_else(|| value("href")) else {
            continue;
        };
        if href.is_empty() || href.contains('/') || href == "." || href == ".." {
            return Err(Format::Ova.error(format!(
                "OVF names the file `{href}`, which is not a member name; not opened"
            )));
        }
        if value("ovf:compression").is_some_and(|c| c != "identity")
            || value("ovf:chunkSize").is_some()
        {
            return Err(Format::Ova.error(format!(
                "OVF file `{href}` is compressed or chunked; not read"
            )));
        }
        files.push(href.to_string());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_plain_member_names() {
        let ovf = r#"<Envelope><References><File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="10"/>
            <File ovf:href="disk2.vmdk" ovf:id="file2"/></References></Envelope>"#;
        assert_eq!(referenced_files(ovf).unwrap(), ["disk1.vmdk", "disk2.vmdk"]);
        for bad in ["../x.vmdk", "/etc/passwd", "a/b.vmdk"] {
            let err = referenced_files(&format!(r#"<File ovf:href="{bad}"/>"#))
                .unwrap_err()
                .to_string();
            assert!(err.contains("not a member name"), "{err}");
        }
        let gz = r#"<File ovf:href="d.vmdk.gz" ovf:compression="gzip"/>"#;
        assert!(
            referenced_files(gz)
                .unwrap_err()
                .to_string()
                .contains("compressed")
        );
    }
}
