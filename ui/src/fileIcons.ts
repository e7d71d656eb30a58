/**
 * File-type icons for the file tree: SVGs of material-icon-theme (MIT, bundled: no request leaves
 * the app). Only the icons below are bundled (about 70 KB); the names map as the theme's own
 * manifest (dist/material-icons.json of material-icon-theme 5.38.1) maps them — a name or
 * extension not listed gets the plain file icon.
 */
const ICONS = import.meta.glob<string>('/node_modules/material-icon-theme/icons/{c,changelog,cmake,console,cpp,csharp,css,dart,database,diff,docker,document,editorconfig,elixir,erlang,eslint,file,folder,folder-benchmark,folder-benchmark-open,folder-components,folder-components-open,folder-config,folder-config-open,folder-dist,folder-dist-open,folder-docs,folder-docs-open,folder-git,folder-git-open,folder-github,folder-github-open,folder-images,folder-images-open,folder-lib,folder-lib-open,folder-migrations,folder-migrations-open,folder-node,folder-node-open,folder-open,folder-public,folder-public-open,folder-resource,folder-resource-open,folder-scripts,folder-scripts-open,folder-src,folder-src-open,folder-target,folder-target-open,folder-test,folder-test-open,folder-ui,folder-ui-open,git,go,go-mod,gradle,graphql,h,haskell,hpp,html,image,java,javascript,json,jupyter,kotlin,less,license,lock,log,lua,makefile,markdown,mdx,nim,nodejs,npm,ocaml,pdf,php,pnpm,powershell,prettier,proto,python,python-misc,r,react,react_ts,readme,ruby,rust,sass,scala,settings,svelte,svg,swift,table,tauri,terraform,toml,tsconfig,tune,typescript,vim,vite,vue,webassembly,xml,yaml,yarn,zig,zip}.svg', { eager: true, query: '?url', import: 'default' });

/** Extensions (lower case, without the dot) → icon. */
const BY_EXTENSION: Record<string, string> = {
  ts: 'typescript',
  tsx: 'react_ts',
  js: 'javascript',
  jsx: 'react',
  mjs: 'javascript',
  cjs: 'javascript',
  json: 'json',
  jsonc: 'json',
  md: 'markdown',
  mdx: 'mdx',
  rs: 'rust',
  toml: 'toml',
  py: 'python',
  go: 'go',
  java: 'java',
  kt: 'kotlin',
  c: 'c',
  h: 'h',
  cpp: 'cpp',
  hpp: 'hpp',
  cc: 'cpp',
  cs: 'csharp',
  rb: 'ruby',
  php: 'php',
  swift: 'swift',
  html: 'html',
  htm: 'html',
  css: 'css',
  scss: 'sass',
  sass: 'sass',
  less: 'less',
  vue: 'vue',
  svelte: 'svelte',
  yml: 'yaml',
  yaml: 'yaml',
  xml: 'xml',
  svg: 'svg',
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  webp: 'image',
  ico: 'image',
  sh: 'console',
  bash: 'console',
  zsh: 'console',
  ps1: 'powershell',
  bat: 'console',
  sql: 'database',
  db: 'database',
  sqlite: 'database',
  lock: 'lock',
  txt: 'document',
  log: 'log',
  csv: 'table',
  env: 'tune',
  ini: 'settings',
  cfg: 'settings',
  conf: 'settings',
  graphql: 'graphql',
  proto: 'proto',
  zip: 'zip',
  gz: 'zip',
  tar: 'zip',
  pdf: 'pdf',
  wasm: 'webassembly',
  lua: 'lua',
  dart: 'dart',
  ex: 'elixir',
  exs: 'elixir',
  erl: 'erlang',
  hs: 'haskell',
  ml: 'ocaml',
  scala: 'scala',
  r: 'r',
  zig: 'zig',
  nim: 'nim',
  ipynb: 'jupyter',
  cmake: 'cmake',
  gradle: 'gradle',
  tf: 'terraform',
  vim: 'vim',
  diff: 'diff',
  patch: 'diff',
};

/** Whole file names (lower case) → icon. */
const BY_NAME: Record<string, string> = {
  "package.json": 'nodejs',
  "package-lock.json": 'nodejs',
  "tsconfig.json": 'tsconfig',
  "readme.md": 'readme',
  license: 'license',
  "license.md": 'license',
  dockerfile: 'docker',
  "docker-compose.yml": 'docker',
  ".gitignore": 'git',
  ".gitattributes": 'git',
  makefile: 'makefile',
  "vite.config.ts": 'vite',
  "eslint.config.js": 'eslint',
  ".editorconfig": 'editorconfig',
  "go.mod": 'go-mod',
  "go.sum": 'go-mod',
  "pyproject.toml": 'python-misc',
  "requirements.txt": 'python-misc',
  "yarn.lock": 'yarn',
  "pnpm-lock.yaml": 'pnpm',
  ".npmrc": 'npm',
  ".prettierrc": 'prettier',
  "changelog.md": 'changelog',
  "tauri.conf.json": 'tauri',
  "cargo.toml": 'rust',
  "cargo.lock": 'lock',
};

/** Folder names (lower case) → icon (its open form adds `-open`). */
const FOLDERS: Record<string, string> = {
  src: 'folder-src',
  lib: 'folder-lib',
  test: 'folder-test',
  tests: 'folder-test',
  docs: 'folder-docs',
  scripts: 'folder-scripts',
  node_modules: 'folder-node',
  ".git": 'folder-git',
  ".github": 'folder-github',
  dist: 'folder-dist',
  build: 'folder-dist',
  public: 'folder-public',
  assets: 'folder-resource',
  components: 'folder-components',
  crates: 'folder-lib',
  target: 'folder-target',
  config: 'folder-config',
  ui: 'folder-ui',
  icons: 'folder-images',
  migrations: 'folder-migrations',
  bench: 'folder-benchmark',
};

const url = (icon: string) => ICONS[`/node_modules/material-icon-theme/icons/${icon}.svg`];

/** The icon's URL for a file path (a data: URL or a bundled asset). */
export function fileIcon(path: string): string {
  const name = (path.split('/').pop() ?? path).toLowerCase();
  const byName = BY_NAME[name];
  if (byName) return url(byName) ?? url('file');
  // The longest extension first: `d.ts` before `ts`.
  const parts = name.split('.');
  for (let i = 1; i < parts.length; i++) {
    const icon = BY_EXTENSION[parts.slice(i).join('.')];
    if (icon) return url(icon) ?? url('file');
  }
  return url('file');
}

/** The icon's URL for a folder, open or closed. */
export function folderIcon(path: string, open: boolean): string {
  const name = (path.split('/').pop() ?? path).toLowerCase();
  const base = FOLDERS[name] ?? 'folder';
  return url(open ? `${base}-open` : base) ?? url(open ? 'folder-open' : 'folder');
}
