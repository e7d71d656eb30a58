//! Linux: WebKitGTK's DMA-BUF renderer leaves the window blank on some GPU stacks (NVIDIA's
//! proprietary driver; machines without a GPU render node, such as VMs, remote X sessions and
//! Xvfb). There, and only there, the renderer is turned off before WebKit starts; machines with
//! a working GPU stack keep hardware rendering. A value the user set is always respected
//! (`WEBKIT_DISABLE_DMABUF_RENDERER=0` keeps it on).

const VARIABLE: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// Why this machine needs the workaround, if it does. `root` is `/` except in tests.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn reason(root: &std::path::Path) -> Option<&'static str> {
    if root.join("proc/driver/nvidia").exists() {
        return Some("NVIDIA's proprietary driver");
    }
    let render_node = std::fs::read_dir(root.join("dev/dri"))
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false);
    if !render_node {
        return Some("no GPU render node (/dev/dri/renderD*)");
    }
    None
}

/// Sets the variable when this machine needs it. Call first thing in `main`.
pub fn prepare() {
    #[cfg(target_os = "linux")]
    {
        if std::env::var_os(VARIABLE).is_some() {
            return;
        }
        if let Some(why) = reason(std::path::Path::new("/")) {
            // SAFETY: called at the very start of `main`, before any other thread exists, so
            // nothing reads the environment concurrently.
            #[allow(unsafe_code)]
            unsafe {
                std::env::set_var(VARIABLE, "1");
            }
            eprintln!("atelier: {why}: WebKit's DMA-BUF renderer is off ({VARIABLE}=1)");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = VARIABLE;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(files: &[&str]) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("tempdir");
        for file in files {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "").expect("write");
        }
        root
    }

    #[test]
    fn only_machines_that_need_it_lose_hardware_rendering() {
        assert_eq!(reason(machine(&["dev/dri/card0", "dev/dri/renderD128"]).path()), None, "a working GPU");
        assert_eq!(
            reason(machine(&["dev/dri/renderD128", "proc/driver/nvidia/version"]).path()),
            Some("NVIDIA's proprietary driver")
        );
        assert!(reason(machine(&[]).path()).is_some_and(|r| r.contains("render node")), "a VM or Xvfb");
        assert!(reason(machine(&["dev/dri/card0"]).path()).is_some(), "a display node without a render node");
    }
}
