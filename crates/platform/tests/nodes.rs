//! Several nodes on one database (three platforms, each with its own pools, counters and
//! node name): every callback is claimed by one node only, a background pass runs on one
//! node at a time and fails over after its lease, order numbers never clash, and a
//! concurrent approve on two nodes charges once.

mod common;

use chrono::TimeDelta;
use common::*;
use platform::{Approval, OrderStatus, Platform, SandboxReport, JOB_LEASE};
use std::collections::HashSet;

async fn nodes(env: &Env) -> Vec<Platform> {
    vec![
        env.p.clone(),
        env.another_node().await,
        env.another_node().await,
    ]
}

fn approval() -> Approval {
    Approval {
        receipt_no: "R1".into(),
        ..Default::default()
    }
}

both_backends! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_nodes_claim_each_callback_once() {
        let env = env().await;
        let app = env.app(1_000_000, false).await;
        let mut orders = Vec::new();
        for _ in 0..60 {
            let o = env.submit(&app).await;
            env.p.take(&o.order_no, "r").await.expect("take");
            orders.push(o.order_no);
        }
        let nodes = nodes(&env).await;
        let now = env.p.now();
        let lease = TimeDelta::seconds(30);
        // Each node claims in small bites, all at once, until nothing is left.
        let claims = nodes.iter().map(|p| async move {
            let mut mine = Vec::new();
            loop {
                let got = p.claim_due_callbacks(now, lease, 7).await.expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|c| c.id));
            }
        });
        let per_node = futures::future::join_all(claims).await;
        let all: Vec<i64> = per_node.iter().flatten().copied().collect();
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 60, "one status-2 callback per order, each claimed once");
        assert_eq!(distinct.len(), 60);
        // After the lease, they are claimable again, once.
        let later = now + TimeDelta::seconds(31);
        let again = futures::future::join_all(
            nodes.iter().map(|p| p.claim_due_callbacks(later, lease, 100)),
        )
        .await;
        let n: usize = again.into_iter().map(|r| r.expect("reclaim").len()).sum();
        assert_eq!(n, 60);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_background_pass_runs_on_one_node_and_fails_over_after_the_lease() {
        let env = env().await;
        let sandbox = env.app(0, true).await;
        for _ in 0..5 {
            env.submit(&sandbox).await;
        }
        let nodes = nodes(&env).await;
        let delay = TimeDelta::seconds(5);
        env.clock.advance(TimeDelta::seconds(6));
        let now = env.p.now();
        let passes = futures::future::join_all(nodes.iter().map(|p| p.run_sandbox(now, delay)))
            .await
            .into_iter()
            .map(|r| r.expect("pass"))
            .collect::<Vec<_>>();
        let busy: Vec<_> = passes.iter().filter(|r| r.taken > 0).collect();
        assert_eq!(busy.len(), 1, "one node ran the pass: {passes:?}");
        assert_eq!(busy[0].taken, 5);
        let holder = passes.iter().position(|r| r.taken > 0).expect("holder");

        // The holder stops (crashed); the others wait out its lease, then one takes over.
        env.clock.advance(TimeDelta::seconds(6));
        let others: Vec<&Platform> = (0..3).filter(|i| *i != holder).map(|i| &nodes[i]).collect();
        for p in &others {
            let r = p.run_sandbox(env.p.now(), delay).await.expect("pass");
            assert_eq!(r, SandboxReport::default(), "lease still held");
        }
        env.clock.advance(JOB_LEASE);
        let r = others[0].run_sandbox(env.p.now(), delay).await.expect("pass");
        assert_eq!(r.approved, 5, "taken over after the lease");
        let r = others[1].run_sandbox(env.p.now(), delay).await.expect("pass");
        assert_eq!(r, SandboxReport::default());
        assert_eq!(
            env.count("orders", &format!("status = {}", OrderStatus::Completed.code()))
                .await,
            5
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn order_numbers_of_three_nodes_never_clash_and_a_double_approve_charges_once() {
        let env = env().await;
        let app = env.app(1_000_000, false).await;
        let nodes = nodes(&env).await;
        let mut pics = Vec::new();
        for _ in 0..90 {
            pics.push(env.pic(&app).await);
        }
        let submits = pics
            .iter()
            .enumerate()
            .map(|(i, pic)| nodes[i % 3].submit(&app, submission(&pic.pic_id)));
        let orders: Vec<_> = futures::future::join_all(submits)
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("every submit accepted");
        let nos: HashSet<_> = orders.iter().map(|o| o.order_no.clone()).collect();
        assert_eq!(nos.len(), 90);
        for o in &orders[..10] {
            env.p.take(&o.order_no, "r").await.expect("take");
            let (a, b) = tokio::join!(
                nodes[1].approve(&o.order_no, "a", approval()),
                nodes[2].approve(&o.order_no, "b", approval())
            );
            assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        }
        assert_eq!(env.count("ledger", "kind = 'charge'").await, 10);
        assert_eq!(env.balance(&app).await, 1_000_000 - 10 * PRICE);
    }
}
