//! The merge stage: the layer indexes become the final tree
//! ([`tree::FileTree`], whiteouts applied, each entry with the layer that
//! placed it), and the package databases of that tree and of every layer
//! become the inventory ([`inventory`]: packages, removed packages).

pub mod inventory;
pub mod tree;
