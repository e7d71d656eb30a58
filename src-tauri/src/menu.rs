//! The native menu: the app's main actions where people look for them first. Each custom item
//! is sent to the window as a `menu` event carrying the action's id — the same ids as the UI's
//! command palette (`ui/src/commands.ts`), which runs it; the Edit menu's standard items give
//! copy and paste their native shortcuts (macOS needs them in the menu for ⌘C/⌘V to work).

use tauri::menu::{Menu, MenuBuilder, MenuEvent, MenuItemBuilder, SubmenuBuilder};
use tauri::{AppHandle, Emitter as _, Runtime};

/// `(id, label)` of the custom items, by submenu.
pub const FILE: &[(&str, &str)] = &[
    ("project.open", "Open Folder…"),
    ("chat.new", "New Chat"),
    ("terminal.new", "New Terminal"),
    ("settings.open", "Settings"),
];
pub const VIEW: &[(&str, &str)] = &[
    ("palette.open", "Command Palette…"),
    ("file.goto", "Go to File…"),
    ("search.files", "Find in Files"),
    ("terminal.toggle", "Toggle Terminal"),
    ("theme.toggle", "Switch Theme"),
];
pub const AGENTS: &[(&str, &str)] = &[("workflow.new", "Start Workflow…"), ("git.commit", "Commit…")];

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let items = |title: &str, list: &[(&str, &str)]| -> tauri::Result<tauri::menu::Submenu<R>> {
        let mut submenu = SubmenuBuilder::new(app, title);
        for (id, label) in list {
            submenu = submenu.item(&MenuItemBuilder::with_id(*id, *label).build(app)?);
        }
        submenu.build()
    };
    let mut file = SubmenuBuilder::new(app, "File");
    for (id, label) in FILE {
        file = file.item(&MenuItemBuilder::with_id(*id, *label).build(app)?);
    }
    let file = file.separator().quit().build()?;
    let edit = SubmenuBuilder::new(app, "Edit")
        .undo()
        .redo()
        .separator()
        .cut()
        .copy()
        .paste()
        .select_all()
        .build()?;
    MenuBuilder::new(app)
        .item(&file)
        .item(&edit)
        .item(&items("View", VIEW)?)
        .item(&items("Agents", AGENTS)?)
        .build()
}

/// Hands a custom item's id to the window.
pub fn on_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let id = event.id().0.clone();
    let known = FILE.iter().chain(VIEW).chain(AGENTS).any(|(item, _)| *item == id);
    if known && let Err(e) = app.emit_to("main", "menu", id) {
        tracing::warn!(error = %e, "handing a menu action to the window");
    }
}
