//! The field paths any compiled pattern mentions, as a trie keyed by field name. It is
//! what lets flattening an event skip every subtree no pattern looks into: a CloudTrail
//! record's `responseElements` costs one failed lookup, not a walk.

use super::table::KeyTable;

/// A path node's id; ids are reused after a node is freed. The root (the event object
/// itself) is [`ROOT`] and never freed.
pub(crate) type PathId = u32;

pub(crate) const ROOT: PathId = 0;

#[derive(Debug, Clone, Default)]
pub(crate) struct PathNode {
    pub children: KeyTable<PathId>,
    parent: PathId,
    name: Box<str>,
    /// Compiled fields reading scalars at exactly this path; values are collected here
    /// only when non-zero.
    pub leaf_refs: u32,
    /// Patterns whose same-element rule spans this path: when the event holds two or more
    /// objects in an array here, they are checked by the tree evaluator.
    pub element_rule: Vec<u32>,
    live: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Paths {
    nodes: Vec<PathNode>,
    free: Vec<PathId>,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            nodes: vec![PathNode {
                live: true,
                ..PathNode::default()
            }],
            free: Vec::new(),
        }
    }
}

impl Paths {
    pub(crate) fn node(&self, id: PathId) -> &PathNode {
        &self.nodes[id as usize]
    }

    /// The node for `segments`, created as needed.
    pub(crate) fn intern(&mut self, segments: &[String]) -> PathId {
        let mut at = ROOT;
        for seg in segments {
            at = match self.nodes[at as usize].children.get(seg.as_bytes()) {
                Some(&child) => child,
                None => {
                    let node = PathNode {
                        parent: at,
                        name: seg.as_str().into(),
                        live: true,
                        ..PathNode::default()
                    };
                    let id = match self.free.pop() {
                        Some(id) => {
                            self.nodes[id as usize] = node;
                            id
                        }
                        None => {
                            self.nodes.push(node);
                            PathId::try_from(self.nodes.len() - 1).unwrap_or(PathId::MAX)
                        }
                    };
                    *self.nodes[at as usize]
                        .children
                        .get_or_insert_with(seg.as_bytes(), || id) = id;
                    id
                }
            };
        }
        at
    }

    pub(crate) fn add_leaf(&mut self, id: PathId) {
        self.nodes[id as usize].leaf_refs += 1;
    }

    pub(crate) fn remove_leaf(&mut self, id: PathId) {
        let node = &mut self.nodes[id as usize];
        node.leaf_refs = node.leaf_refs.saturating_sub(1);
        self.prune(id);
    }

    pub(crate) fn add_element_rule(&mut self, id: PathId, entry: u32) {
        self.nodes[id as usize].element_rule.push(entry);
    }

    pub(crate) fn remove_element_rule(&mut self, id: PathId, entry: u32) {
        let list = &mut self.nodes[id as usize].element_rule;
        if let Some(at) = list.iter().position(|&e| e == entry) {
            list.swap_remove(at);
        }
        self.prune(id);
    }

    /// Frees `id` and then its ancestors while nothing refers to them any more.
    fn prune(&mut self, mut id: PathId) {
        while id != ROOT {
            let node = &self.nodes[id as usize];
            if !node.live
                || node.leaf_refs > 0
                || !node.element_rule.is_empty()
                || !node.children.is_empty()
            {
                return;
            }
            let parent = node.parent;
            let name = node.name.clone();
            self.nodes[parent as usize].children.remove(name.as_bytes());
            self.nodes[id as usize] = PathNode::default();
            self.free.push(id);
            id = parent;
        }
    }
}
