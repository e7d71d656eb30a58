//! Getting a newcomer to a working model: coding models recommended by this machine's memory
//! (`models.recommended`), and what a model can do, probed once and remembered
//! (`models.probe`): its context length, native tool calls, or tool calls written as text.

use std::time::Duration;

use atelier_llm::{ChatMessage, ChatRequest, ToolSpec};
use atelier_protocol::{ModelProbe, ModelsRecommended, RecommendedModel};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::App;
use crate::error::{CoreError, CoreResult};

/// A coding model worth offering: its Ollama name, parameters in billions and download size.
struct Candidate {
    name: &'static str,
    label: &'static str,
    params_b: f32,
    size_bytes: u64,
}

const GB: u64 = 1_000_000_000;

/// Qwen2.5-Coder at 4-bit, the sizes Ollama's library lists: small enough for laptops, trained
/// for code and for tool calls (native in Ollama), and the family small-model agent users pick.
const CANDIDATES: &[Candidate] = &[
    Candidate { name: "qwen2.5-coder:14b", label: "Qwen2.5 Coder 14B", params_b: 14.8, size_bytes: 9 * GB },
    Candidate {
        name: "qwen2.5-coder:7b",
        label: "Qwen2.5 Coder 7B",
        params_b: 7.6,
        size_bytes: 4_700_000_000,
    },
    Candidate {
        name: "qwen2.5-coder:3b",
        label: "Qwen2.5 Coder 3B",
        params_b: 3.1,
        size_bytes: 1_900_000_000,
    },
    Candidate {
        name: "qwen2.5-coder:1.5b",
        label: "Qwen2.5 Coder 1.5B",
        params_b: 1.5,
        size_bytes: 986_000_000,
    },
];

/// Models below this many billion parameters rarely follow an agent's tool format.
const AGENT_MIN_PARAMS_B: f32 = 3.0;
/// Agents need room for a file, the tools and the conversation.
const AGENT_MIN_CONTEXT: u32 = 8_192;

/// Memory a model needs to run: its weights plus about a fifth for the context cache and the
/// runtime, plus a fixed 1 GB for the rest of the machine to breathe.
fn needed(size_bytes: u64) -> u64 {
    size_bytes + size_bytes / 5 + GB
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / GB as f64)
}

/// The recommendations for a machine with `free` bytes of memory available (and `vram` on a
/// GPU, which runs a model that fits it much faster): best first — the largest model that fits,
/// then the smaller ones that fit, then those that do not fit, each saying why.
pub fn recommend(free: u64, vram: Option<u64>, installed: &[String]) -> Vec<RecommendedModel> {
    let budget = vram.map_or(free, |v| v.max(free));
    let mut fitting = Vec::new();
    let mut too_big = Vec::new();
    for c in CANDIDATES {
        let need = needed(c.size_bytes);
        let on_gpu = vram.is_some_and(|v| need <= v);
        let fits = need <= budget;
        let reason = if on_gpu {
            format!("fits your GPU's {} of memory: fast", gb(vram.unwrap_or_default()))
        } else if fits {
            format!("needs about {} of the {} free", gb(need), gb(budget))
        } else {
            format!("needs about {}; this machine has {} free", gb(need), gb(budget))
        };
        let model = RecommendedModel {
            name: c.name.to_owned(),
            label: c.label.to_owned(),
            params: format!("{}B", c.params_b),
            size_bytes: c.size_bytes,
            fits,
            installed: installed.iter().any(|i| same_model(i, c.name)),
            reason,
            agent_ready: c.params_b >= AGENT_MIN_PARAMS_B,
        };
        if fits { fitting.push(model) } else { too_big.push(model) }
    }
    fitting.extend(too_big);
    fitting
}

/// `qwen2.5-coder:7b` and `qwen2.5-coder:7b-instruct-q4_K_M` name the same download choice for
/// our purposes; a name without a tag means `latest`.
fn same_model(installed: &str, candidate: &str) -> bool {
    installed == candidate || installed.starts_with(&format!("{candidate}-"))
}

/// Billions of parameters as a model's name says them (`…:7b`, `…-1.5b-…`), when it does.
fn params_in_name(name: &str) -> Option<f32> {
    name.split([':', '-', '_', '/'])
        .filter_map(|part| part.strip_suffix('b').or_else(|| part.strip_suffix('B')))
        .filter_map(|n| n.parse::<f32>().ok())
        .find(|n| *n > 0.0 && *n < 2_000.0)
}

fn probe_key(name: &str) -> String {
    format!("model_probe.{name}")
}

/// The one tool of the self-test, harmless and easy to call.
fn echo_tool() -> ToolSpec {
    ToolSpec {
        name: "echo".into(),
        description: "Repeats the text it is given.".into(),
        input_schema: json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
    }
}

/// How long the text-format self-test may take (a cold 14B model loads slowly).
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(120);

impl App {
    /// Coding models for this machine, best first, marked when already installed.
    pub async fn recommended_models(&self) -> CoreResult<ModelsRecommended> {
        let (total, free) = tokio::task::spawn_blocking(|| {
            let mut sys = sysinfo::System::new();
            sys.refresh_memory();
            (sys.total_memory(), sys.available_memory())
        })
        .await
        .map_err(|e| CoreError::Internal(format!("reading the memory: {e}")))?;
        let vram = gpu_memory().await;
        // No server yet is fine: nothing is installed then.
        let installed = self.provider().model_names().await.unwrap_or_default();
        Ok(ModelsRecommended {
            memory_bytes: total,
            free_memory_bytes: free,
            vram_bytes: vram,
            models: recommend(free, vram, &installed),
        })
    }

    /// What `name` can do, asked once and remembered (ask again with `refresh`): its context
    /// length, whether it takes tools natively, else whether it writes a tool call in our text
    /// format when asked (one short model call), and a warning when it is small for agents.
    pub async fn probe_model(&self, name: &str, refresh: bool) -> CoreResult<ModelProbe> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(CoreError::InvalidInput("give the name of a model `models.list` shows".into()));
        }
        if !refresh
            && let Some(stored) = self.store().get_setting(&probe_key(name)).await?
            && let Ok(probe) = serde_json::from_str::<ModelProbe>(&stored)
        {
            return Ok(probe);
        }
        let capabilities = self.provider().capabilities(name).await?;
        let context_length = match capabilities.context_length {
            Some(n) => Some(n),
            None => self.provider().context_length(name).await?,
        };
        let tools = match capabilities.tools {
            Some(true) => "native".to_owned(),
            _ => self.text_tools_self_test(name).await?,
        };
        let warning = self.small_model_warning(name, context_length, &tools).await;
        let probe = ModelProbe {
            name: name.to_owned(),
            context_length,
            tools,
            probed_at: atelier_store::now(),
            warning,
        };
        self.store().set_setting(&probe_key(name), serde_json::to_string(&probe).unwrap_or_default()).await?;
        Ok(probe)
    }

    /// Every probe remembered, by model name.
    pub(crate) async fn remembered_probe(&self, name: &str) -> Option<ModelProbe> {
        let stored = self.store().get_setting(&probe_key(name)).await.ok().flatten()?;
        serde_json::from_str(&stored).ok()
    }

    /// Asks the model for one call of `echo` in the text format and reads its reply with the
    /// parser chats use: `text` when a call comes back, `none` when not.
    async fn text_tools_self_test(&self, name: &str) -> CoreResult<String> {
        let tools = [echo_tool()];
        let request = ChatRequest {
            model: name.to_owned(),
            messages: vec![
                ChatMessage::system(atelier_llm::tools_system_prompt(&tools)),
                ChatMessage::user("Call the tool `echo` with the text \"ping\"."),
            ],
            temperature: Some(0.0),
            num_ctx: Some(4_096),
            ..ChatRequest::default()
        };
        let cancel = CancellationToken::new();
        let timer = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(SELF_TEST_TIMEOUT).await;
                cancel.cancel();
            })
        };
        let reply = self.provider().chat(&request, &cancel, &mut |_| {}).await;
        timer.abort();
        let reply = match reply {
            Ok(reply) => reply,
            Err(atelier_llm::LlmError::Cancelled) => return Ok("unknown".into()),
            Err(e) => return Err(e.into()),
        };
        let calls = atelier_llm::parse_text_tool_calls(&reply.content, &tools);
        let called = calls.calls.iter().any(|c| c.name == "echo");
        Ok(if called { "text" } else { "none" }.to_owned())
    }

    /// A warning when `name` is too small for agents, naming a model that would do and fits.
    async fn small_model_warning(&self, name: &str, context: Option<u32>, tools: &str) -> Option<String> {
        let small = params_in_name(name).is_some_and(|p| p < AGENT_MIN_PARAMS_B);
        let short = context.is_some_and(|c| c < AGENT_MIN_CONTEXT);
        let no_tools = tools == "none";
        if !(small || short || no_tools) {
            return None;
        }
        let why = if no_tools {
            "does not call tools (natively or in text)".to_owned()
        } else if small {
            "is small for agents: they often lose the tool format".to_owned()
        } else {
            format!("has a short context ({} tokens) for agents", context.unwrap_or_default())
        };
        let better = self
            .recommended_models()
            .await
            .ok()
            .and_then(|r| r.models.into_iter().find(|m| m.fits && m.agent_ready && m.name != name));
        Some(match better {
            Some(m) => format!(
                "{name} {why}; {} ({}) would do better and fits this machine",
                m.name,
                gb(m.size_bytes)
            ),
            None => format!("{name} {why}"),
        })
    }
}

/// The GPU's memory, where `nvidia-smi` can say (the one GPU query that needs no extra
/// library); `None` elsewhere — Apple silicon shares its memory, which the free memory counts.
async fn gpu_memory() -> Option<u64> {
    let run = tokio::process::Command::new("nvidia-smi")
        .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(3), run).await.ok()?.ok()?;
    if !output.status.success() {
        return None;
    }
    let mib: u64 =
        String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| l.trim().parse::<u64>().ok()).max()?;
    Some(mib * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(models: &[RecommendedModel]) -> Vec<(&str, bool)> {
        models.iter().map(|m| (m.name.as_str(), m.fits)).collect()
    }

    #[test]
    fn the_largest_model_that_fits_comes_first() {
        let list = recommend(16 * GB, None, &[]);
        assert_eq!(
            names(&list),
            [
                ("qwen2.5-coder:14b", true),
                ("qwen2.5-coder:7b", true),
                ("qwen2.5-coder:3b", true),
                ("qwen2.5-coder:1.5b", true)
            ]
        );
        let list = recommend(8 * GB, None, &[]);
        assert_eq!(list[0].name, "qwen2.5-coder:7b", "9 GB of weights need more than 8 GB");
        assert_eq!(list.last().map(|m| (m.name.as_str(), m.fits)), Some(("qwen2.5-coder:14b", false)));
        assert!(list.last().is_some_and(|m| m.reason.contains("this machine has 8.0 GB free")));
    }

    #[test]
    fn a_small_machine_gets_the_small_models_and_is_told_why_not_the_others() {
        let list = recommend(4 * GB, None, &[]);
        assert_eq!(list[0].name, "qwen2.5-coder:3b");
        assert!(!list[0].reason.is_empty());
        let fitting: Vec<&str> = list.iter().filter(|m| m.fits).map(|m| m.name.as_str()).collect();
        assert_eq!(fitting, ["qwen2.5-coder:3b", "qwen2.5-coder:1.5b"]);
        assert!(!list.iter().find(|m| m.name.ends_with("1.5b")).is_some_and(|m| m.agent_ready));
        // Too little for anything: every model is listed, none fits.
        assert!(recommend(GB, None, &[]).iter().all(|m| !m.fits));
    }

    #[test]
    fn a_gpu_with_room_counts_and_installed_models_are_marked() {
        let list = recommend(4 * GB, Some(24 * GB), &["qwen2.5-coder:7b".into()]);
        assert_eq!(list[0].name, "qwen2.5-coder:14b");
        assert!(list[0].reason.contains("GPU"));
        assert!(list.iter().find(|m| m.name == "qwen2.5-coder:7b").is_some_and(|m| m.installed));
        assert!(!list[0].installed);
    }

    #[test]
    fn parameters_are_read_from_model_names() {
        assert_eq!(params_in_name("qwen2.5-coder:1.5b"), Some(1.5));
        assert_eq!(params_in_name("llama3.2:3b-instruct-q4_K_M"), Some(3.0));
        assert_eq!(params_in_name("deepseek-r1:14b"), Some(14.0));
        assert_eq!(params_in_name("llama3.2"), None);
    }
}
