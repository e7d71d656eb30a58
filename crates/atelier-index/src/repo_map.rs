//! The repo map: the project's files with their most important definitions, ready for a
//! prompt. Importance is PageRank over the graph in which a file points at the files that
//! define the names it uses (weighted by how often, more for long specific names, less for
//! private or everywhere-defined ones), personalised towards the files and names of the
//! request; each file's rank then flows to the definitions it uses. The most important
//! definitions that fit the token budget are shown, grouped by file, with their lines.

use std::collections::HashMap;
use std::sync::Arc;

use crate::words::split_identifier;
use crate::{Index, Result, lock};

/// The repo map's default size.
pub const DEFAULT_BUDGET_TOKENS: usize = 1_500;
const DAMPING: f64 = 0.85;
const ITERATIONS: usize = 40;

/// A generous estimate of a text's tokens (about 3 characters each, as atelier-llm reckons):
/// a map that fits by this estimate fits the model.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(3)
}

struct Def {
    name: u32,
    line: u32,
    signature: String,
}

/// The whole project's definitions and uses, kept until the index changes.
pub(crate) struct Graph {
    paths: Vec<String>,
    names: Vec<String>,
    /// Per file: its definitions.
    defs: Vec<Vec<Def>>,
    /// Per name: the files that define it.
    definers: HashMap<u32, Vec<usize>>,
    /// Per file: an edge to each file defining a name it uses (never itself), with the
    /// weight before the request's focus is applied.
    edges: Vec<Vec<(usize, f64, u32)>>,
}

/// How much a use of `name` says about the files involved (after aider's weighting).
fn name_weight(name: &str, definers: usize) -> f64 {
    let mut w = 1.0;
    let compound =
        name.contains('_') || (name.chars().any(char::is_uppercase) && name.chars().any(char::is_lowercase));
    if compound && name.len() >= 8 {
        w *= 10.0;
    }
    if name.starts_with('_') {
        w *= 0.1;
    }
    if definers > 5 {
        w *= 0.1;
    }
    w
}

fn plain(name: &str) -> String {
    split_identifier(name).concat()
}

impl Index {
    fn graph(&self) -> Result<Arc<Graph>> {
        let generation = self.generation();
        if let Some((g, graph)) = lock(&self.inner.graph).as_ref()
            && *g == generation
        {
            return Ok(graph.clone());
        }
        let graph = self.read(|conn| {
            let mut names: Vec<String> = Vec::new();
            let mut name_ids: HashMap<String, u32> = HashMap::new();
            let mut intern = |n: &str, names: &mut Vec<String>| -> u32 {
                if let Some(id) = name_ids.get(n) {
                    return *id;
                }
                let id = names.len() as u32;
                names.push(n.to_owned());
                name_ids.insert(n.to_owned(), id);
                id
            };
            let mut paths = Vec::new();
            let mut file_index: HashMap<i64, usize> = HashMap::new();
            let mut raw_refs: Vec<String> = Vec::new();
            let mut stmt = conn.prepare("SELECT id, path, refs FROM files ORDER BY path")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                file_index.insert(row.get(0)?, paths.len());
                paths.push(row.get::<_, String>(1)?);
                raw_refs.push(row.get(2)?);
            }
            let mut defs: Vec<Vec<Def>> = (0..paths.len()).map(|_| Vec::new()).collect();
            let mut definers: HashMap<u32, Vec<usize>> = HashMap::new();
            let mut stmt = conn.prepare(
                "SELECT file_id, name, line, signature FROM symbols WHERE kind <> 'impl' ORDER BY file_id, line",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let Some(&file) = file_index.get(&row.get::<_, i64>(0)?) else { continue };
                let name = intern(row.get_ref(1)?.as_str()?, &mut names);
                defs[file].push(Def { name, line: row.get(2)?, signature: row.get(3)? });
                let list = definers.entry(name).or_default();
                if list.last() != Some(&file) {
                    list.push(file);
                }
            }
            let edges = raw_refs
                .iter()
                .enumerate()
                .map(|(from, text)| {
                    let mut out = Vec::new();
                    for line in text.lines() {
                        let Some((name, count)) = line.rsplit_once(' ') else { continue };
                        let Some(&id) = name_ids.get(name) else { continue };
                        let Some(files) = definers.get(&id) else { continue };
                        let count: u32 = count.parse().unwrap_or(1);
                        let w = name_weight(name, files.len()) * f64::from(count).sqrt();
                        out.extend(files.iter().filter(|&&to| to != from).map(|&to| (to, w, id)));
                    }
                    out
                })
                .collect();
            Ok(Graph { paths, names, defs, definers, edges })
        })?;
        let graph = Arc::new(graph);
        *lock(&self.inner.graph) = Some((generation, graph.clone()));
        Ok(graph)
    }

    /// The repo map within `budget_tokens`, favouring `focus_files` (paths) and `focus_names`
    /// (identifiers from the request or chat, any spelling). Empty when nothing is indexed.
    pub fn repo_map(
        &self,
        focus_files: &[String],
        focus_names: &[String],
        budget_tokens: usize,
    ) -> Result<String> {
        let graph = self.graph()?;
        Ok(render_map(&graph, focus_files, focus_names, budget_tokens))
    }
}

fn render_map(graph: &Graph, focus_files: &[String], focus_names: &[String], budget: usize) -> String {
    let n = graph.paths.len();
    if n == 0 || budget == 0 {
        return String::new();
    }
    let focus_names: Vec<String> = focus_names.iter().map(|n| plain(n)).filter(|n| n.len() >= 3).collect();
    let is_focus_name = |id: u32| {
        let name = plain(&graph.names[id as usize]);
        focus_names.contains(&name)
    };
    let focus_file: Vec<bool> = graph
        .paths
        .iter()
        .map(|p| {
            focus_files.iter().any(|f| {
                let f = f.trim_start_matches("./");
                !f.is_empty() && (p == f || p.ends_with(&format!("/{f}")))
            })
        })
        .collect();

    // The request's names and files weigh more: a name's edges ×10, a file's own edges ×50.
    let focus_ids: std::collections::HashSet<u32> = if focus_names.is_empty() {
        std::collections::HashSet::new()
    } else {
        (0..graph.names.len() as u32).filter(|id| is_focus_name(*id)).collect()
    };
    let weight = |from: usize, w: f64, name: u32| {
        let mut w = w;
        if focus_ids.contains(&name) {
            w *= 10.0;
        }
        if focus_file[from] {
            w *= 50.0;
        }
        w
    };
    let edges = &graph.edges;
    let out_weight: Vec<f64> = edges
        .iter()
        .enumerate()
        .map(|(from, e)| e.iter().map(|&(_, w, name)| weight(from, w, name)).sum())
        .collect();

    // Personalisation: the request's files, and the files defining the names it mentions.
    let mut personal = vec![0.0f64; n];
    for (i, focus) in focus_file.iter().enumerate() {
        if *focus {
            personal[i] += 1.0;
        }
    }
    for (name, files) in &graph.definers {
        if focus_ids.contains(name) {
            for &f in files {
                personal[f] += 1.0;
            }
        }
    }
    let total: f64 = personal.iter().sum();
    if total > 0.0 {
        personal.iter_mut().for_each(|p| *p /= total);
    } else {
        personal.fill(1.0 / n as f64);
    }

    let mut rank = personal.clone();
    for _ in 0..ITERATIONS {
        let mut next: Vec<f64> = personal.iter().map(|p| (1.0 - DAMPING) * p).collect();
        let mut dangling = 0.0;
        for (from, list) in edges.iter().enumerate() {
            if out_weight[from] <= 0.0 {
                dangling += rank[from];
                continue;
            }
            let share = DAMPING * rank[from] / out_weight[from];
            for &(to, w, name) in list {
                next[to] += share * weight(from, w, name);
            }
        }
        for (i, p) in personal.iter().enumerate() {
            next[i] += DAMPING * dangling * p;
        }
        let moved: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
        rank = next;
        if moved < 1e-9 {
            break;
        }
    }

    // Each file's rank flows to the definitions it uses; a little of a file's own rank goes
    // to each of its definitions, so unused ones still come in the order of their files.
    let mut def_rank: HashMap<(usize, u32), f64> = HashMap::new();
    for (from, list) in edges.iter().enumerate() {
        for &(to, w, name) in list {
            *def_rank.entry((to, name)).or_default() += rank[from] * weight(from, w, name) / out_weight[from];
        }
    }
    let mut ranked: Vec<(f64, usize, usize)> = Vec::new();
    for (file, defs) in graph.defs.iter().enumerate() {
        for (i, def) in defs.iter().enumerate() {
            let mut r = def_rank.get(&(file, def.name)).copied().unwrap_or(0.0)
                + rank[file] * 1e-3 / defs.len() as f64;
            if focus_ids.contains(&def.name) {
                r += 1.0;
            }
            ranked.push((r, file, i));
        }
    }
    // Only the best can fit (a definition's line takes at least ~8 characters): those are
    // sorted, not all of them.
    let order = |a: &(f64, usize, usize), b: &(f64, usize, usize)| {
        b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
    };
    let most = (budget * 3 / 8 + 1).min(ranked.len());
    if most > 0 && most < ranked.len() {
        ranked.select_nth_unstable_by(most - 1, order);
        ranked.truncate(most);
    }
    ranked.sort_by(order);

    // The most definitions that fit: doubling to an upper bound, then bisection.
    let fits = |k: usize| estimate_tokens(&render(graph, &ranked[..k])) <= budget;
    let mut hi = usize::from(!ranked.is_empty());
    while hi < ranked.len() && fits(hi) {
        hi = (hi * 2).min(ranked.len());
    }
    let (mut lo, mut hi) = (hi / 2, hi);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut out = render(graph, &ranked[..lo]);
    // Room left: the other files by rank, as bare paths.
    let shown: std::collections::HashSet<usize> = ranked[..lo].iter().map(|(_, f, _)| *f).collect();
    let mut rest: Vec<usize> = (0..n).filter(|f| !shown.contains(f)).collect();
    rest.sort_by(|a, b| rank[*b].total_cmp(&rank[*a]).then(a.cmp(b)));
    let mut used = estimate_tokens(&out);
    for f in rest {
        let line = format!("{}\n", graph.paths[f]);
        let cost = estimate_tokens(&line);
        if used + cost > budget {
            break;
        }
        used += cost;
        out.push_str(&line);
    }
    out
}

/// The chosen definitions grouped by file (files in the order of their best definition,
/// definitions in line order): `path:` then `  line│ first line of the definition`.
fn render(graph: &Graph, chosen: &[(f64, usize, usize)]) -> String {
    let mut order: Vec<usize> = Vec::new();
    let mut by_file: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(_, file, def) in chosen {
        let list = by_file.entry(file).or_insert_with(|| {
            order.push(file);
            Vec::new()
        });
        list.push(def);
    }
    let mut out = String::new();
    for file in order {
        let Some(defs) = by_file.get_mut(&file) else { continue };
        defs.sort_by_key(|d| graph.defs[file][*d].line);
        out.push_str(&format!("{}:\n", graph.paths[file]));
        for &d in defs.iter() {
            let def = &graph.defs[file][d];
            out.push_str(&format!("{:>5}│ {}\n", def.line, def.signature));
        }
    }
    out
}
