//! Every npm lockfile kind over the same bytes: `package-lock.json` (v1
//! to v3), `yarn.lock` (v1 and berry), `pnpm-lock.yaml`, and an installed
//! `node_modules/*/package.json`.
#![no_main]

use imgscan_fuzz::catalog;
use imgscan_sbom::catalog::npm::{
    NodeModulesCataloger, NpmLockCataloger, PnpmLockCataloger, YarnLockCataloger,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    catalog::run(&NpmLockCataloger, "app/package-lock.json", data);
    catalog::run(&YarnLockCataloger, "app/yarn.lock", data);
    catalog::run(&PnpmLockCataloger, "app/pnpm-lock.yaml", data);
    catalog::run(
        &NodeModulesCataloger,
        "app/node_modules/x/package.json",
        data,
    );
});
