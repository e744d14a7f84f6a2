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
        struct State<K, T, E> {
            results: BTreeMap<K, NodeRun<K, T, E>>,
            running: BTreeSet<K>,
            /// Lease keys held now, each by one node.
            held: BTreeMap<K, K>,
        }
        let jobs = jobs.max(1);
        let state = Mutex::new(State {
            results: BTreeMap::new(),
            running: BTreeSet::new(),
            held: BTreeMap::new(),
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
                    if needs
                        .iter()
                        .all(|n| matches!(st.results.get(n), Some(NodeRun::Ran(Ok(_)))))
                    {
                        st.running.insert(*node);
                        if let Some(l) = lease {
                            st.held.insert(*l, *node);
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
