//! API keys through settings, kept in the keychain: stored, reported only as `key_stored`,
//! never in the database or events.
//!
//! This runs against `keyring`'s in-memory mock store, not the OS keychain: in the build
//! container the kernel key store (keyutils, Atelier's Linux backend) refuses this process
//! (EACCES when linking a key into the user's persistent keyring, then on every search), and
//! no Secret Service or desktop session exists. Everything above the store — validation, the
//! API, what settings report, where the key never goes — is the real code.

use std::time::{SystemTime, UNIX_EPOCH};

use atelier_core::keychain::Keychain;
use atelier_core::{App, ClientLimits, Config};
use serde_json::json;

use crate::support::{call, llm_config, rpc};

const SECRET: &str = "sk-ant-api03-KEYCHAIN-TEST-5e1d0c9a";

fn own_service() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("dev.atelier.test-{}-{nanos}", std::process::id())
}

#[tokio::test]
async fn an_api_key_is_kept_in_the_keychain_and_reported_only_as_stored() {
    let llm = atelier_testkit::TestLlm::start().await.expect("testkit");
    let dir = tempfile::tempdir().expect("tempdir");
    keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
    let service = own_service();
    let keychain = Keychain::new(&service);
    let provider =
        atelier_llm::OllamaProvider::new(llm.url().parse().expect("url"), llm_config()).expect("provider");
    let config = Config {
        keychain: keychain.clone(),
        ..Config::new(dir.path().to_path_buf(), std::sync::Arc::new(provider))
    };
    let app = App::start(config).await.expect("app");
    let client = app.connect(ClientLimits::local());
    call(&client, "subscribe", json!({ "topics": ["system", "models"] })).await;

    let before = call(&client, "settings.get", json!({})).await;
    assert_eq!(before["api_keys"]["anthropic"]["key_stored"], false, "{before}");
    assert_eq!(before["default_model"], serde_json::Value::Null, "the other settings are still there");

    let after = call(&client, "settings.set_key", json!({ "provider": "anthropic", "key": SECRET })).await;
    assert_eq!(after["api_keys"]["anthropic"]["key_stored"], true, "{after}");
    assert_eq!(after["api_keys"]["openai"]["key_stored"], false);
    assert!(!after.to_string().contains(SECRET));
    // In the keychain, where the next start looks for it when ANTHROPIC_API_KEY is unset.
    let found = keychain.get("anthropic").expect("keychain readable");
    assert_eq!(found.as_deref(), Some(SECRET));

    // Bad input: clear errors that never repeat the key.
    let unknown = rpc(&client, "settings.set_key", json!({ "provider": "bard", "key": SECRET })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "invalid_input");
    let message = unknown["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("anthropic") && !message.contains(SECRET), "{message}");
    let spaced =
        rpc(&client, "settings.set_key", json!({ "provider": "openai", "key": "sk two words" })).await;
    assert_eq!(spaced["error"]["data"]["kind"], "invalid_input", "{spaced}");
    assert!(!spaced.to_string().contains("two words"));

    let cleared = call(&client, "settings.delete_key", json!({ "provider": "anthropic" })).await;
    assert_eq!(cleared["api_keys"]["anthropic"]["key_stored"], false);
    assert_eq!(keychain.get("anthropic").expect("readable"), None);
    let again = rpc(&client, "settings.delete_key", json!({ "provider": "anthropic" })).await;
    assert_eq!(again["error"]["data"]["kind"], "not_found", "{again}");

    // Nothing of the key in any event or in the data folder.
    while let Some(event) = client.try_next_event() {
        assert!(!event.json.contains(SECRET), "an event carried the key: {}", event.json);
    }
    app.shutdown().await;
    for entry in std::fs::read_dir(dir.path()).expect("data folder").flatten() {
        if let Ok(bytes) = std::fs::read(entry.path()) {
            assert!(!bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "{:?}", entry.path());
        }
    }
}
