//! npm lockfiles and installed node_modules.
