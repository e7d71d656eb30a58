//! Hello, world in a Tauri window: nothing but the webview and one page.

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
