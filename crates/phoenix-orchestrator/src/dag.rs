//! The order of work: a DAG of containers, walked by a pool of worker threads.
//!
//! An edge runs from a container to each container it needs first (its clone source and
//! its `dependencies`). Independent branches run concurrently, at most `jobs` at a time.
//! A failed node stops its descendants, which are reported as skipped with the name of
//! the failed ancestor; unrelated branches run to the end.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Condvar, Mutex};

/// A dependency graph over node ids `K`.
#[derive(Debug, Clone)]
pub struct Dag<K: Ord> {
    /// node -> the nodes it needs first.
    needs: BTreeMap<K, BTreeSet<K>>,
}

/// Per-resource concurrency caps for [`Dag::run_limited`]: a node may use resource keys
/// (`node:pve1`, `storage:local`), and at most `cap` nodes using one key run at once.
/// A node whose resource is at its cap is not started, so it never sits in a job slot
/// waiting; other ready work runs instead. A key without a cap does not limit.
///
/// ```
/// use phoenix_orchestrator::dag::{Dag, Limits};
/// let limits = Limits::new().cap("node:pve1", 1).uses(101u32, "node:pve1").uses(102, "node:pve1");
/// assert_eq!(limits.cap_of("node:pve1"), Some(1));
/// let dag = Dag::new([(101u32, vec![]), (102, vec![])]);
/// let done = dag.run_limited(2, &Default::default(), &limits, |k, _| Ok::<_, ()>(k));
/// assert_eq!(done.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Limits<K> {
    uses: BTreeMap<K, BTreeSet<String>>,
    caps: BTreeMap<String, usize>,
}

impl<K> Default for Limits<K> {
    fn default() -> Self {
        Limits {
            uses: BTreeMap::new(),
            caps: BTreeMap::new(),
        }
    }
}

impl<K: Ord> Limits<K> {
    /// No caps.
    pub fn new() -> Self {
        Limits::default()
    }

    /// At most `max` nodes using `resource` at once (0 counts as 1, so work always
    /// makes progress).
    pub fn cap(mut self, resource: impl Into<String>, max: usize) -> Self {
        self.caps.insert(resource.into(), max.max(1));
        self
    }

    /// `node` uses `resource` while it runs.
    pub fn uses(mut self, node: K, resource: impl Into<String>) -> Self {
        self.uses.entry(node).or_default().insert(resource.into());
        self
    }

    /// The cap of a resource, if it has one.
    pub fn cap_of(&self, resource: &str) -> Option<usize> {
        self.caps.get(resource).copied()
    }

    /// The capped resources `node` uses.
    fn capped<'a>(&'a self, node: &K) -> impl Iterator<Item = (&'a str, usize)> + 'a {
        self.uses
            .get(node)
            .into_iter()
            .flatten()
            .filter_map(|r| self.caps.get(r).map(|c| (r.as_str(), *c)))
    }
}

/// A node's end state after [`Dag::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRun<K, T, E> {
    /// The work function ran and returned this.
    Ran(Result<T, E>),
    /// Not run: this ancestor failed (or was itself skipped).
    Skipped {
        /// The ancestor whose failure stopped this node.
        because: K,
    },
}

impl<K: Ord + Copy + Debug + Send + Sync> Dag<K> {
    /// Builds a DAG from each node's prerequisites. Prerequisites that are not nodes
    /// themselves are ignored (they are outside the selection and assumed to exist).
    pub fn new(needs: impl IntoIterator<Item = (K, Vec<K>)>) -> Self {
        let needs: BTreeMap<K, BTreeSet<K>> = needs
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().collect()))
            .collect();
        let keys: BTreeSet<K> = needs.keys().copied().collect();
        let needs = needs
            .into_iter()
            .map(|(k, v)| (k, v.intersection(&keys).copied().collect()))
            .collect();
        Dag { needs }
    }

    /// The nodes, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = K> + '_ {
        self.needs.keys().copied()
    }

    /// A cycle, if there is one, as the list of nodes on it (first node repeated last).
    pub fn find_cycle(&self) -> Option<Vec<K>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        fn visit<K: Ord + Copy>(
            node: K,
            dag: &BTreeMap<K, BTreeSet<K>>,
            marks: &mut BTreeMap<K, Mark>,
            stack: &mut Vec<K>,
        ) -> Option<Vec<K>> {
            match marks.get(&node) {
                Some(Mark::Done) => return None,
                Some(Mark::Open) => {
                    let start = stack.iter().position(|n| *n == node).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(node);
                    return Some(cycle);
                }
                None => {}
            }
            marks.insert(node, Mark::Open);
            stack.push(node);
            for next in dag.get(&node).into_iter().flatten() {
                if let Some(c) = visit(*next, dag, marks, stack) {
                    return Some(c);
                }
            }
            stack.pop();
            marks.insert(node, Mark::Done);
            None
        }
        let mut marks = BTreeMap::new();
        for node in self.needs.keys() {
            if let Some(c) = visit(*node, &self.needs, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
        None
    }

    /// A sequential order in which every node comes after what it needs (ties by id:
    /// the smallest ready node first). Returns `None` on a cycle.
    pub fn topological_order(&self) -> Option<Vec<K>> {
        // Kahn's algorithm: how many prerequisites each node still waits for, and who
        // waits for each node.
        let mut waiting: BTreeMap<K, usize> = BTreeMap::new();
        let mut needed_by: BTreeMap<K, Vec<K>> = BTreeMap::new();
        for (k, needs) in &self.needs {
            waiting.insert(*k, needs.len());
            for n in needs {
                needed_by.entry(*n).or_default().push(*k);
            }
        }
        let mut ready: BTreeSet<K> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(k, _)| *k)
            .collect();
        let mut order = Vec::with_capacity(self.needs.len());
        while let Some(next) = ready.pop_first() {
            order.push(next);
            for k in needed_by.get(&next).into_iter().flatten() {
                if let Some(n) = waiting.get_mut(k) {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(*k);
                    }
                }
            }
        }
        (order.len() == self.needs.len()).then_some(order)
    }

    /// Runs `work` on every node once its prerequisites succeeded, with at most `jobs`
    /// nodes at a time. A node whose prerequisite failed or was skipped is skipped.
    /// A cyclic graph runs nothing: call [`Dag::find_cycle`] first.
    pub fn run<T, E, F>(&self, jobs: usize, work: F) -> BTreeMap<K, NodeRun<K, T, E>>
    where
        T: Send,
        E: Send,
        F: Fn(K) -> Result<T, E> + Sync,
    {
        self.run_leased(jobs, &BTreeMap::new(), |k, _| work(k))
    }

    /// [`Dag::run`] where some nodes start by holding a lease (a key shared with other
    /// nodes, such as the clone source whose lock a clone takes): a node is not started
    /// while another holds its lease, so it never sits in a job slot waiting for it;
    /// other ready work runs instead. A node holds its lease until it calls the release
    /// function `work` gets (or until it finishes).
    pub fn run_leased<T, E, F>(
        &self,
        jobs: usize,
        leases: &BTreeMap<K, K>,
        work: F,
    ) -> BTreeMap<K, NodeRun<K, T, E>>
    where
        T: Send,
        E: Send,
        F: Fn(K, &(dyn Fn() + Sync)) -> Result<T, E> + Sync,
    {
        self.run_limited(jobs, leases, &Limits::new(), work)
    }

    /// [`Dag::run_leased`] with per-resource caps ([`Limits`]): a node is started only
    /// while every capped resource it uses has a free slot, and holds those slots until
    /// it finishes.
    pub fn run_limited<T, E, F>(
        &self,
        jobs: usize,
        leases: &BTreeMap<K, K>,
        limits: &Limits<K>,
        work: F,
    ) -> BTreeMap<K, NodeRun<K, T, E>>
    where
        T: Send,
        E: Send,
        F: Fn(K, &(dyn Fn() + Sync)) -> Result<T, E> + Sync,
    {
        struct State<K, T, E> {
            results: BTreeMap<K, NodeRun<K, T, E>>,
            running: BTreeSet<K>,
            /// Lease keys held now, each by one node.
            held: BTreeMap<K, K>,
            /// Running nodes per capped resource.
            in_use: BTreeMap<String, usize>,
        }
        let jobs = jobs.max(1);
        let state = Mutex::new(State {
            results: BTreeMap::new(),
            running: BTreeSet::new(),
            held: BTreeMap::new(),
            in_use: BTreeMap::new(),
        });
        let wake = Condvar::new();
        let total = self.needs.len();

        // Picks the next ready node, marking skips on the way; None when all is done.
        let next = |st: &mut State<K, T, E>| -> Option<Option<K>> {
            loop {
                if st.results.len() == total {
                    return None;
                }
                let mut progressed = false;
                for (node, needs) in &self.needs {
                    if st.results.contains_key(node) || st.running.contains(node) {
                        continue;
                    }
                    let blocker = needs.iter().find(|n| {
                        matches!(
                            st.results.get(*n),
                            Some(NodeRun::Ran(Err(_)) | NodeRun::Skipped { .. })
                        )
                    });
                    if let Some(b) = blocker {
                        st.results.insert(*node, NodeRun::Skipped { because: *b });
                        progressed = true;
                        continue;
                    }
                    let lease = leases.get(node);
                    if lease.is_some_and(|l| st.held.contains_key(l)) {
                        continue;
                    }
                    if limits
                        .capped(node)
                        .any(|(r, cap)| st.in_use.get(r).copied().unwrap_or(0) >= cap)
                    {
                        continue;
                    }
                    if needs
                        .iter()
                        .all(|n| matches!(st.results.get(n), Some(NodeRun::Ran(Ok(_)))))
                    {
                        st.running.insert(*node);
                        if let Some(l) = lease {
                            st.held.insert(*l, *node);
                        }
                        for (r, _) in limits.capped(node) {
                            *st.in_use.entry(r.to_owned()).or_default() += 1;
                        }
                        return Some(Some(*node));
                    }
                }
                if !progressed {
                    // Nothing ready now: wait for a running node to finish.
                    return Some(None);
                }
            }
        };
        // Gives up `node`'s lease, if it still holds it.
        let release = |st: &mut State<K, T, E>, node: K| {
            if let Some(l) = leases.get(&node)
                && st.held.get(l) == Some(&node)
            {
                st.held.remove(l);
                return true;
            }
            false
        };

        std::thread::scope(|scope| {
            for _ in 0..jobs.min(total.max(1)) {
                scope.spawn(|| {
                    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                    loop {
                        match next(&mut st) {
                            None => {
                                wake.notify_all();
                                return;
                            }
                            Some(None) => {
                                if st.running.is_empty() {
                                    // A cycle or an unreachable node: nothing can ever run.
                                    return;
                                }
                                st = wake.wait(st).unwrap_or_else(|p| p.into_inner());
                            }
                            Some(Some(node)) => {
                                drop(st);
                                let give_up = || {
                                    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                                    if release(&mut st, node) {
                                        wake.notify_all();
                                    }
                                };
                                let outcome = work(node, &give_up);
                                st = state.lock().unwrap_or_else(|p| p.into_inner());
                                release(&mut st, node);
                                for (r, _) in limits.capped(&node) {
                                    if let Some(n) = st.in_use.get_mut(r) {
                                        *n = n.saturating_sub(1);
                                    }
                                }
                                st.running.remove(&node);
                                st.results.insert(node, NodeRun::Ran(outcome));
                                wake.notify_all();
                            }
                        }
                    }
                });
            }
        });
        state
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fleet() -> Dag<u32> {
        // 900 <- 901 <- 950 ; 900 <- 902 <- 102 ; 101 alone; 102 also needs 101
        Dag::new([
            (900, vec![]),
            (901, vec![900]),
            (902, vec![900]),
            (950, vec![901]),
            (101, vec![]),
            (102, vec![902, 101]),
        ])
    }

    #[test]
    fn topological_order_puts_sources_first() {
        let order = fleet().topological_order().unwrap();
        let pos = |k| order.iter().position(|n| *n == k).unwrap();
        assert!(pos(900) < pos(901) && pos(901) < pos(950));
        assert!(pos(902) < pos(102) && pos(101) < pos(102));
    }

    #[test]
    fn a_failure_skips_descendants_and_lets_other_branches_finish() {
        let results = fleet().run(4, |k| if k == 901 { Err("boom") } else { Ok(k) });
        assert_eq!(results[&901], NodeRun::Ran(Err("boom")));
        assert_eq!(results[&950], NodeRun::Skipped { because: 901 });
        assert_eq!(results[&102], NodeRun::Ran(Ok(102)));
        assert_eq!(results.len(), 6);
    }

    #[test]
    fn never_runs_more_than_jobs_at_once() {
        let dag = Dag::new((0..20u32).map(|k| (k, vec![])));
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        dag.run(3, |_| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(5));
            now.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        });
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn a_node_waiting_for_a_lease_leaves_its_slot_to_other_work() {
        // Three clones of 900 (each holds 900's lease for its first part) and two
        // independent nodes, with two jobs: while a clone holds the lease, the other
        // slot runs an independent node, never a second clone waiting for the lease.
        let dag = Dag::new([
            (900u32, vec![]),
            (901, vec![900]),
            (902, vec![900]),
            (903, vec![900]),
            (950, vec![]),
            (951, vec![]),
        ]);
        let leases: BTreeMap<u32, u32> = [(901, 900), (902, 900), (903, 900)].into();
        let in_lease = AtomicUsize::new(0);
        let peak_lease = AtomicUsize::new(0);
        let log = Mutex::new(Vec::new());
        let results = dag.run_leased(2, &leases, |k, release| {
            log.lock().unwrap().push(k);
            if leases.contains_key(&k) {
                let n = in_lease.fetch_add(1, Ordering::SeqCst) + 1;
                peak_lease.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(20));
                in_lease.fetch_sub(1, Ordering::SeqCst);
                release();
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            Ok::<_, ()>(k)
        });
        assert_eq!(results.len(), 6);
        assert!(results.values().all(|r| matches!(r, NodeRun::Ran(Ok(_)))));
        assert_eq!(
            peak_lease.load(Ordering::SeqCst),
            1,
            "one clone of 900 at a time"
        );
        // 951 takes the slot a second clone would have waited in.
        let log = log.into_inner().unwrap();
        let pos = |k| log.iter().position(|n| *n == k).unwrap();
        assert!(pos(951) < pos(902), "{log:?}");
    }

    #[test]
    fn a_released_lease_lets_the_next_holder_start_before_the_first_finishes() {
        let dag = Dag::new([(900u32, vec![]), (901, vec![900]), (902, vec![900])]);
        let leases: BTreeMap<u32, u32> = [(901, 900), (902, 900)].into();
        let overlap = std::sync::atomic::AtomicBool::new(false);
        let busy = AtomicUsize::new(0);
        dag.run_leased(2, &leases, |k, release| {
            release();
            if k == 900 {
                return Ok::<_, ()>(());
            }
            if busy.fetch_add(1, Ordering::SeqCst) > 0 {
                overlap.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
            busy.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        });
        assert!(
            overlap.load(Ordering::SeqCst),
            "901 and 902 overlap after the lease"
        );
    }

    /// Runs `dag` with `limits`, each node sleeping a little; the peak number of
    /// running nodes per resource, and the order nodes started in.
    fn run_capped(
        dag: &Dag<u32>,
        jobs: usize,
        limits: &Limits<u32>,
        resources: &[&str],
    ) -> (BTreeMap<String, usize>, Vec<u32>) {
        let now: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
        let peak: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
        let log = Mutex::new(Vec::new());
        let results = dag.run_limited(jobs, &BTreeMap::new(), limits, |k, _| {
            log.lock().unwrap().push(k);
            let mine: Vec<String> = resources
                .iter()
                .filter(|r| limits.uses.get(&k).is_some_and(|u| u.contains(**r)))
                .map(|r| (*r).to_owned())
                .collect();
            for r in &mine {
                let mut now = now.lock().unwrap();
                let n = now.entry(r.clone()).or_default();
                *n += 1;
                let mut peak = peak.lock().unwrap();
                let p = peak.entry(r.clone()).or_default();
                *p = (*p).max(*n);
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
            for r in &mine {
                *now.lock().unwrap().get_mut(r).unwrap() -= 1;
            }
            Ok::<_, ()>(k)
        });
        assert!(results.values().all(|r| matches!(r, NodeRun::Ran(Ok(_)))));
        (peak.into_inner().unwrap(), log.into_inner().unwrap())
    }

    #[test]
    fn a_capped_resource_never_runs_more_than_its_cap() {
        // Six guests on pve1 (cap 2), two on pve2 (no cap), four jobs.
        let dag = Dag::new((1..=8u32).map(|k| (k, vec![])));
        let mut limits = Limits::new().cap("node:pve1", 2);
        for k in 1..=6 {
            limits = limits.uses(k, "node:pve1");
        }
        for k in 7..=8 {
            limits = limits.uses(k, "node:pve2");
        }
        let (peak, _) = run_capped(&dag, 4, &limits, &["node:pve1", "node:pve2"]);
        assert!((1..=2).contains(&peak["node:pve1"]), "{peak:?}");
        assert!(peak["node:pve2"] <= 2);
    }

    #[test]
    fn a_node_waiting_for_a_capped_resource_leaves_its_slot_to_other_work() {
        // 1..=3 share storage:local (cap 1); 9 uses nothing capped. With two jobs, 9
        // starts while 1 holds the storage instead of 2 waiting in the second slot.
        let dag = Dag::new([(1u32, vec![]), (2, vec![]), (3, vec![]), (9, vec![])]);
        let limits = Limits::new()
            .cap("storage:local", 1)
            .uses(1, "storage:local")
            .uses(2, "storage:local")
            .uses(3, "storage:local");
        let (peak, log) = run_capped(&dag, 2, &limits, &["storage:local"]);
        assert_eq!(peak["storage:local"], 1);
        let pos = |k| log.iter().position(|n| *n == k).unwrap();
        assert!(pos(9) < pos(2), "{log:?}");
    }

    #[test]
    fn a_node_counts_against_every_resource_it_uses() {
        // 1 and 2 are on different nodes but share a storage capped at 1: never together.
        let dag = Dag::new([(1u32, vec![]), (2, vec![])]);
        let limits = Limits::new()
            .cap("node:pve1", 4)
            .cap("node:pve2", 4)
            .cap("storage:shared", 1)
            .uses(1, "node:pve1")
            .uses(1, "storage:shared")
            .uses(2, "node:pve2")
            .uses(2, "storage:shared");
        let (peak, _) = run_capped(&dag, 2, &limits, &["storage:shared"]);
        assert_eq!(peak["storage:shared"], 1);
    }

    #[test]
    fn caps_and_leases_work_together_and_failures_still_skip_descendants() {
        let dag = Dag::new([
            (900u32, vec![]),
            (901, vec![900]),
            (902, vec![900]),
            (903, vec![901]),
        ]);
        let leases: BTreeMap<u32, u32> = [(901, 900), (902, 900)].into();
        let limits = Limits::new()
            .cap("node:pve1", 1)
            .uses(901, "node:pve1")
            .uses(902, "node:pve1");
        let results = dag.run_limited(3, &leases, &limits, |k, _| {
            if k == 901 { Err("boom") } else { Ok(k) }
        });
        assert_eq!(results[&901], NodeRun::Ran(Err("boom")));
        assert_eq!(results[&902], NodeRun::Ran(Ok(902)));
        assert_eq!(results[&903], NodeRun::Skipped { because: 901 });
        // A cap of 0 is one: work still finishes.
        let zero = Limits::new().cap("x", 0).uses(900u32, "x");
        assert_eq!(zero.cap_of("x"), Some(1));
        assert_eq!(
            dag.run_limited(1, &BTreeMap::new(), &zero, |k, _| Ok::<_, ()>(k))
                .len(),
            4
        );
    }

    #[test]
    fn cycles_are_found_and_printed_as_a_path() {
        let dag = Dag::new([(1u32, vec![2]), (2, vec![3]), (3, vec![1])]);
        let cycle = dag.find_cycle().unwrap();
        assert_eq!(cycle.first(), cycle.last());
        assert_eq!(cycle.len(), 4);
        assert!(dag.topological_order().is_none());
    }

    #[test]
    fn prerequisites_outside_the_selection_are_ignored() {
        let dag = Dag::new([(950u32, vec![901])]);
        assert_eq!(dag.topological_order().unwrap(), vec![950]);
    }
}
