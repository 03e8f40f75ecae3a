#!/usr/bin/env bash
# Regenerates the npm cataloger fixtures with the real package managers.
#
# Needs node 20 + npm and the npm registry; nothing else from the network.
# yarn v1 and pnpm 9 come from npm (`npm i -g yarn pnpm@9`), never from
# corepack; yarn berry is the `@yarnpkg/cli-dist` package run with node;
# old lockfile formats come from old releases run through `npx`.
#
#   bash sbom/src/catalog/npm/testdata/generate.sh
#
# Writes, next to this script:
#   app/package.json                the project every lockfile below locks
#   app/npm-v1/package-lock.json    npm 6            (lockfileVersion 1)
#   app/npm-v2/package-lock.json    npm, --lockfile-version 2
#   app/npm-v3/package-lock.json    npm              (lockfileVersion 3)
#   app/yarn-v1/yarn.lock           yarn 1.22
#   app/yarn-berry/yarn.lock        yarn 4 (@yarnpkg/cli-dist)
#   app/pnpm-v5/pnpm-lock.yaml      pnpm 7           (lockfileVersion 5.4)
#   app/pnpm-v6/pnpm-lock.yaml      pnpm 8           (lockfileVersion '6.0')
#   app/pnpm-v9/pnpm-lock.yaml      pnpm 9           (lockfileVersion '9.0')
#   workspace/…                     npm workspaces: package-lock.json with
#                                   `link: true` entries, and pnpm's lock
#   tree/                           a few package.json files copied out of a
#                                   real `npm ci` and `pnpm install` of app/
#                                   (nested, scoped, hidden lockfile, .pnpm
#                                   store), for offline node_modules tests
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

# --- the project -----------------------------------------------------------
mkdir -p "$here/app"
cat >"$here/app/package.json" <<'JSON'
{
  "name": "fixture-app",
  "version": "1.0.0",
  "private": true,
  "license": "MIT",
  "dependencies": {
    "@types/node": "20.11.0",
    "express": "4.18.2",
    "use-sync-external-store": "1.2.0"
  },
  "devDependencies": {
    "is-number": "7.0.0"
  },
  "optionalDependencies": {
    "fsevents": "2.3.3"
  }
}
JSON

fresh() { # fresh DIR: an empty project directory holding app/package.json
  rm -rf "$work/$1"
  mkdir -p "$work/$1"
  cp "$here/app/package.json" "$work/$1/"
  echo "$work/$1"
}
keep() { # keep SRC DEST: copy a generated lockfile into testdata
  mkdir -p "$(dirname "$here/$2")"
  cp "$1" "$here/$2"
}

# --- npm lockfiles ----------------------------------------------------------
d=$(fresh npm-v1)
(cd "$d" && npx -y npm@6 install --package-lock-only --ignore-scripts --no-audit >/dev/null)
keep "$d/package-lock.json" app/npm-v1/package-lock.json

d=$(fresh npm-v2)
(cd "$d" && npm install --package-lock-only --ignore-scripts --lockfile-version 2 >/dev/null)
keep "$d/package-lock.json" app/npm-v2/package-lock.json

d=$(fresh npm-v3)
(cd "$d" && npm install --package-lock-only --ignore-scripts --lockfile-version 3 >/dev/null)
keep "$d/package-lock.json" app/npm-v3/package-lock.json

# --- yarn -------------------------------------------------------------------
d=$(fresh yarn-v1)
(cd "$d" && yarn install --ignore-scripts --non-interactive --silent --no-progress --mode update-lockfile >/dev/null)
keep "$d/yarn.lock" app/yarn-v1/yarn.lock

# Berry: the released CLI bundle from npm, run with node.
berry="$work/berry-cli"
mkdir -p "$berry"
(cd "$berry" && npm install --no-save --ignore-scripts @yarnpkg/cli-dist@4 >/dev/null)
d=$(fresh yarn-berry)
(cd "$d" && touch yarn.lock && printf 'nodeLinker: node-modules\nenableTelemetry: false\n' >.yarnrc.yml \
  && YARN_ENABLE_GLOBAL_CACHE=false node "$berry/node_modules/@yarnpkg/cli-dist/bin/yarn.js" install --mode=update-lockfile >/dev/null)
keep "$d/yarn.lock" app/yarn-berry/yarn.lock

# --- pnpm -------------------------------------------------------------------
d=$(fresh pnpm-v5)
(cd "$d" && npx -y pnpm@7 install --lockfile-only --ignore-scripts >/dev/null)
keep "$d/pnpm-lock.yaml" app/pnpm-v5/pnpm-lock.yaml

d=$(fresh pnpm-v6)
(cd "$d" && npx -y pnpm@8 install --lockfile-only --ignore-scripts >/dev/null)
keep "$d/pnpm-lock.yaml" app/pnpm-v6/pnpm-lock.yaml

d=$(fresh pnpm-v9)
(cd "$d" && pnpm install --lockfile-only --ignore-scripts >/dev/null)
keep "$d/pnpm-lock.yaml" app/pnpm-v9/pnpm-lock.yaml

# --- an npm workspace ---------------------------------------------------------
rm -rf "$here/workspace"
mkdir -p "$here/workspace/packages/a" "$here/workspace/packages/b"
cat >"$here/workspace/package.json" <<'JSON'
{
  "name": "fixture-workspace",
  "version": "0.0.0",
  "private": true,
  "workspaces": ["packages/*"]
}
JSON
cat >"$here/workspace/packages/a/package.json" <<'JSON'
{ "name": "@fixture/a", "version": "1.0.0", "license": "MIT", "dependencies": { "ms": "2.1.3" } }
JSON
cat >"$here/workspace/packages/b/package.json" <<'JSON'
{ "name": "b", "version": "2.0.0", "license": "ISC", "dependencies": { "@fixture/a": "1.0.0", "ms": "2.0.0" } }
JSON
printf 'packages:\n  - "packages/*"\n' >"$here/workspace/pnpm-workspace.yaml"
rm -rf "$work/ws" && cp -r "$here/workspace" "$work/ws"
(cd "$work/ws" && npm install --package-lock-only --ignore-scripts >/dev/null)
keep "$work/ws/package-lock.json" workspace/package-lock.json
(cd "$work/ws" && pnpm install --lockfile-only --ignore-scripts --config.link-workspace-packages=true >/dev/null)
keep "$work/ws/pnpm-lock.yaml" workspace/pnpm-lock.yaml

# --- the static installed tree ----------------------------------------------
rm -rf "$here/tree"
d=$(fresh install-npm)
cp "$here/app/npm-v3/package-lock.json" "$d/"
(cd "$d" && npm ci --ignore-scripts >/dev/null)
for p in .package-lock.json express/package.json ms/package.json send/package.json \
  send/node_modules/ms/package.json @types/node/package.json undici-types/package.json \
  is-number/package.json; do
  mkdir -p "$(dirname "$here/tree/app/node_modules/$p")"
  cp "$d/node_modules/$p" "$here/tree/app/node_modules/$p"
done
cp "$here/app/package.json" "$here/tree/app/package.json"
cp "$here/app/npm-v3/package-lock.json" "$here/tree/app/package-lock.json"
# A file deep inside a package's own sources that is not a package root.
mkdir -p "$here/tree/app/node_modules/express/lib/router"
printf '{ "name": "not-a-package-root", "version": "0.0.0" }\n' >"$here/tree/app/node_modules/express/lib/router/package.json"

d=$(fresh install-pnpm)
cp "$here/app/pnpm-v9/pnpm-lock.yaml" "$d/"
(cd "$d" && pnpm install --frozen-lockfile --ignore-scripts >/dev/null)
for p in .pnpm/ms@2.0.0/node_modules/ms/package.json .pnpm/ms@2.1.3/node_modules/ms/package.json \
  .pnpm/@types+node@20.11.0/node_modules/@types/node/package.json \
  .pnpm/express@4.18.2/node_modules/express/package.json; do
  mkdir -p "$(dirname "$here/tree/pnpm/node_modules/$p")"
  cp "$d/node_modules/$p" "$here/tree/pnpm/node_modules/$p"
done
echo "fixtures written under $here"
