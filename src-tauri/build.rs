//! Tauri's build step. The UI is built by `npm --prefix ui run build`; a checkout that has not
//! built it yet gets a page saying how, so `cargo build` never fails on a missing folder.

fn main() {
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        let page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Atelier</title></head>\
            <body><h1>Atelier</h1><p>This build has no web UI. Build it with \
            <code>npm --prefix ui ci &amp;&amp; npm --prefix ui run build</code>, then rebuild the app.</p></body></html>";
        if let Err(e) =
            std::fs::create_dir_all(dist).and_then(|()| std::fs::write(dist.join("index.html"), page))
        {
            println!("cargo::warning=cannot write a placeholder UI in ui/dist: {e}");
        }
    }
    tauri_build::build();
}
