//! Who may connect: the token (401 before the upgrade), Origin and Host (403), and a health
//! endpoint that needs no token and gives nothing away.

use crate::support::{TOKEN, start};

#[tokio::test]
async fn upgrades_without_a_valid_token_are_refused_with_401() {
    let server = start().await;
    assert_eq!(server.upgrade_status("", &[]).await, 401);
    assert_eq!(server.upgrade_status("?token=wrong", &[]).await, 401);
    assert_eq!(server.upgrade_status("", &[("authorization", "Bearer wrong")]).await, 401);
    assert_eq!(server.upgrade_status("", &[("authorization", &format!("Bearer {TOKEN}"))]).await, 101);
    assert_eq!(server.upgrade_status(&format!("?token={TOKEN}"), &[]).await, 101);
}

#[tokio::test]
async fn a_page_can_tell_a_refused_token_from_a_server_that_is_down() {
    let server = start().await;
    let http = reqwest::Client::new();
    let check = |query: String| {
        let http = http.clone();
        let url = format!("http://{}/auth/check{query}", server.addr);
        async move { http.get(url).send().await.expect("response") }
    };
    assert_eq!(check(format!("?token={TOKEN}")).await.status().as_u16(), 204);
    let stale = check("?token=an-old-token".into()).await;
    assert_eq!(stale.status().as_u16(), 401);
    assert!(stale.text().await.expect("body").contains("atelier serve prints it"));
    let bearer = http
        .get(format!("http://{}/auth/check", server.addr))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .expect("response");
    assert_eq!(bearer.status().as_u16(), 204);
}

#[tokio::test]
async fn the_embedded_server_starts_on_a_free_port_and_stops_on_demand() {
    let running = start().await;
    let app = running.app.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let token = atelier_server::stored_token(dir.path()).expect("token");
    let config = atelier_server::ServerConfig::new("127.0.0.1:0".parse().expect("addr"), token.clone());
    let server = atelier_server::Embedded::start(app.clone(), config).await.expect("started");
    let addr = server.addr();
    assert_ne!(addr.port(), 0, "the real port is reported");
    let health = reqwest::get(format!("http://{addr}/health")).await.expect("health");
    assert_eq!(health.status().as_u16(), 200);
    let taken = atelier_server::ServerConfig::new(addr, token.clone());
    let error = atelier_server::Embedded::start(app.clone(), taken).await.err().expect("port in use");
    assert!(error.to_string().contains("choose another port"), "{error}");
    server.stop().await;
    assert!(reqwest::get(format!("http://{addr}/health")).await.is_err(), "nothing listens after stop");
    assert_eq!(atelier_server::stored_token(dir.path()).expect("token"), token);
}

#[tokio::test]
async fn foreign_origins_and_hosts_are_refused_with_403() {
    let server = start().await;
    let q = format!("?token={TOKEN}");
    let own = format!("http://{}", server.addr);
    assert_eq!(server.upgrade_status(&q, &[("origin", &own)]).await, 101);
    assert_eq!(server.upgrade_status(&q, &[("origin", "https://evil.example")]).await, 403);
    assert_eq!(server.upgrade_status(&q, &[("origin", "null")]).await, 403);
    assert_eq!(server.upgrade_status(&q, &[("host", "rebind.example:7777")]).await, 403);
    let http = reqwest::Client::new();
    let refused = http
        .get(format!("http://{}/health", server.addr))
        .header("host", "rebind.example")
        .send()
        .await
        .expect("response");
    assert_eq!(refused.status().as_u16(), 403);
}

#[tokio::test]
async fn health_needs_no_token_and_reveals_no_paths() {
    let server = start().await;
    let response = reqwest::get(format!("http://{}/health", server.addr)).await.expect("health");
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.expect("body");
    let health: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(health["status"], "ok", "{text}");
    let names: Vec<_> =
        health["checks"].as_array().expect("checks").iter().map(|c| c["name"].clone()).collect();
    assert!(names.contains(&"database".into()) && names.contains(&"model_endpoint".into()));
    let data_dir = server.app.data_dir().to_string_lossy().into_owned();
    assert!(!text.contains(&data_dir) && !text.contains(TOKEN) && !text.contains("/tmp"), "{text}");
}

#[tokio::test]
async fn the_ui_is_served_at_every_client_route_and_missing_assets_are_404() {
    let server = start().await;
    let get = |path: &str| reqwest::get(format!("http://{}{path}", server.addr));
    let index = get("/").await.expect("index");
    assert_eq!(index.status().as_u16(), 200);
    assert!(index.headers()["content-type"].to_str().expect("type").starts_with("text/html"));
    let page = index.text().await.expect("html");
    assert!(page.contains("Atelier"), "{page}");
    // A route the UI handles in the browser (a reload of /projects/x) gets the same page.
    let deep = get("/projects/prj_x").await.expect("deep link");
    assert_eq!(deep.status().as_u16(), 200);
    assert_eq!(deep.text().await.expect("html"), page);
    assert_eq!(get("/assets/missing-0000.js").await.expect("asset").status().as_u16(), 404);
}

#[tokio::test]
async fn shutdown_closes_connections_with_going_away() {
    use futures::StreamExt;
    let server = start().await;
    let mut ws = server.connect().await;
    server.shutdown.cancel();
    let frame =
        tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await.expect("frame in time");
    match frame {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(close)))) => {
            assert_eq!(u16::from(close.code), 1001);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    server.task.await.expect("join").expect("serve ends cleanly");
}

#[tokio::test]
async fn download_streams_a_valid_zip_of_the_project_with_the_token_only() {
    let server = start().await;
    let project = server.app.create_project("Zip Me", None).await.expect("project");
    server.app.files_write(&project.id, "src/main.rs".into(), "fn main() {}\n".into()).await.expect("write");
    let http = reqwest::Client::new();
    let url = format!("http://{}/download/{}", server.addr, project.id);
    assert_eq!(http.get(&url).send().await.expect("response").status().as_u16(), 401);
    let response = http.get(&url).bearer_auth(TOKEN).send().await.expect("response");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(response.headers()["content-disposition"].to_str().expect("header").contains("zip-me.zip"));
    let bytes = response.bytes().await.expect("body");
    let dir = tempfile::tempdir().expect("dir");
    let archive = dir.path().join("p.zip");
    std::fs::write(&archive, &bytes).expect("save");
    let test = std::process::Command::new("unzip").arg("-t").arg(&archive).output().expect("unzip");
    assert!(test.status.success() && String::from_utf8_lossy(&test.stdout).contains("src/main.rs"));
    let missing = http
        .get(format!("http://{}/download/prj_nope", server.addr))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("response");
    assert_eq!(missing.status().as_u16(), 404);
}
