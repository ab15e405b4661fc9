/* The cluster transport (kernel/cluster/transport.c) against a fake RNIC
 * (xport_harness.c): boot and QP 1, the handshake one way and both ways at
 * once, delivery with RECV replenishment, a dead peer (RETRY_EXC_ERR: down
 * exactly once, sends refused), a dead local RNIC (op_timeout), keepalives
 * finding a silent death, lost handshakes, no network. The harness asserts
 * xport_check on every node after every event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xport_harness.h"

#define US 1000ull
#define MS 1000000ull

static struct xh *H;

static int setup(void **state)
{
    (void)state;
    H = calloc(1, sizeof *H);
    return H ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(H);
    return 0;
}

static void cfg_default(struct xport_config *k, bool keepalive)
{
    xport_config_default(k);
    k->recv_depth = 4;
    k->send_window = 2;
    if (!keepalive)
        k->keepalive_ns = 0;
}

static void boot(unsigned n, bool keepalive)
{
    struct xport_config k;
    cfg_default(&k, keepalive);
    xh_init(H, n, &k);
    xh_run(H, 100 * US);
    for (unsigned i = 0; i < n; i++) {
        assert_true(H->node[i].ready);
        assert_int_equal(H->node[i].x.eState, XPORT_READY);
        assert_int_equal(H->node[i].x.ud_qpn, XPORT_UD_QPN);
        assert_int_equal(H->node[i].x.nUdRecvPosted, 4);
    }
}

static void test_boot_qp1(void **state)
{
    (void)state;
    boot(3, false);
    /* the two CQs came first, then QP 1 */
    assert_int_equal(H->node[0].x.send_cq, 1);
    assert_int_equal(H->node[0].x.recv_cq, 2);
    assert_true(H->node[2].qp[1].used && H->node[2].qp[1].type == HAL_NET_QPT_UD);
}

static void test_connect_one_way(void **state)
{
    (void)state;
    boot(2, false);
    assert_int_equal(xh_connect(H, 0, 1), XPORT_OK);
    assert_int_equal(xport_peer_state(&H->node[0].x, 1), XP_CREATING);
    xh_run(H, H->now + 100 * US);
    for (unsigned i = 0; i < 2; i++) {
        const struct xport_peer *e = &H->node[i].peers[1 - i];
        assert_int_equal(e->eState, XP_UP);
        assert_int_equal(H->node[i].ups[1 - i], 1);
        assert_int_equal(e->qpn, 2); /* the first RC QP after QP 1 */
        assert_int_equal(e->remote_qpn, 2);
        assert_int_equal(e->nRecvPosted, 4);
    }
    assert_true(H->node[0].peers[1].initiator);
    assert_false(H->node[1].peers[0].initiator);
    /* connecting again is a no-op; to self is refused */
    assert_int_equal(xh_connect(H, 0, 1), XPORT_OK);
    assert_int_equal(xh_connect(H, 0, 0), XPORT_EINVAL);
    assert_int_equal(H->node[0].x.nHandshakeMsgs, 2); /* REQ, RTU */
    assert_int_equal(H->node[1].x.nHandshakeMsgs, 1); /* REP */
}

/* Connect before the transport is ready: started when it is. */
static void test_connect_before_ready(void **state)
{
    (void)state;
    struct xport_config k;
    cfg_default(&k, false);
    xh_init(H, 2, &k);
    assert_int_equal(xh_connect(H, 1, 0), XPORT_OK);
    assert_true(H->node[1].peers[0].want);
    xh_run(H, 200 * US);
    assert_int_equal(xport_peer_state(&H->node[1].x, 0), XP_UP);
    assert_int_equal(xport_peer_state(&H->node[0].x, 1), XP_UP);
}

/* Both sides connect at once: the lower id stays initiator, the higher's QP
 * becomes the responder's; one QP each, both UP once. */
static void test_simultaneous_connect(void **state)
{
    (void)state;
    boot(2, false);
    assert_int_equal(xh_connect(H, 0, 1), XPORT_OK);
    assert_int_equal(xh_connect(H, 1, 0), XPORT_OK);
    xh_run(H, H->now + 200 * US);
    const struct xport_peer *a = &H->node[0].peers[1], *b = &H->node[1].peers[0];
    assert_int_equal(a->eState, XP_UP);
    assert_int_equal(b->eState, XP_UP);
    assert_true(a->initiator);
    assert_false(b->initiator);
    assert_int_equal(a->remote_qpn, b->qpn);
    assert_int_equal(b->remote_qpn, a->qpn);
    assert_int_equal(H->node[0].ups[1], 1);
    assert_int_equal(H->node[1].ups[0], 1);
    assert_false(H->node[0].qp[3].used); /* no second RC QP on either side */
    assert_false(H->node[1].qp[3].used);
    assert_int_equal(H->node[0].downs[1] + H->node[1].downs[0], 0);
}

/* Four nodes all connecting to all at once. */
static void test_full_mesh_at_once(void **state)
{
    (void)state;
    boot(4, false);
    for (unsigned i = 0; i < 4; i++)
        for (unsigned j = 0; j < 4; j++)
            if (i != j)
                assert_int_equal(xh_connect(H, i, j), XPORT_OK);
    xh_run(H, H->now + 500 * US);
    for (unsigned i = 0; i < 4; i++)
        for (unsigned j = 0; j < 4; j++)
            if (i != j) {
                assert_int_equal(xport_peer_state(&H->node[i].x, j), XP_UP);
                assert_int_equal(H->node[i].ups[j], 1);
                assert_int_equal(H->node[i].peers[j].initiator, i < j);
            }
}

static void up_pair(void)
{
    boot(3, false);
    xh_connect(H, 0, 1);
    xh_run(H, H->now + 100 * US);
    assert_int_equal(xport_peer_state(&H->node[0].x, 1), XP_UP);
    assert_int_equal(xport_peer_state(&H->node[1].x, 0), XP_UP);
}

/* Many more messages than RECVs: every one arrives, in order, with its
 * bytes; the RECV pool is back to full at the end. */
static void test_delivery_and_replenish(void **state)
{
    (void)state;
    up_pair();
    unsigned sent = 0;
    uint8_t msg[XPORT_MSG_MAX];
    while (sent < 40) {
        memset(msg, (int)sent, sizeof msg);
        uint32_t len = 1 + sent % XPORT_MSG_MAX;
        int rc = xh_send(H, 0, 1, msg, len);
        if (rc == XPORT_EAGAIN) { /* window full: let completions come */
            xh_run(H, H->now + 1 * US);
            continue;
        }
        assert_int_equal(rc, XPORT_OK);
        sent++;
    }
    xh_run(H, H->now + 100 * US);
    const struct xh_node *r = &H->node[1];
    assert_int_equal(r->delivered[0], 40);
    assert_int_equal(r->nlog, 40);
    for (unsigned i = 0; i < 40; i++) {
        assert_int_equal(r->log[i].peer, 0);
        assert_int_equal(r->log[i].len, 1 + i % XPORT_MSG_MAX);
        for (unsigned b = 0; b < r->log[i].len; b++)
            assert_int_equal(r->log[i].data[b], (uint8_t)i);
    }
    assert_int_equal(r->peers[0].nRecvPosted, 4);
    assert_int_equal(H->node[0].peers[1].nSendOut, 0);
    assert_int_equal(H->node[0].peers[1].deadline, 0);
    assert_int_equal(H->node[0].downs[1] + r->downs[0], 0);
}

static void test_send_errors(void **state)
{
    (void)state;
    up_pair();
    uint8_t big[XPORT_MSG_MAX + 1] = {0};
    assert_int_equal(xh_send(H, 0, 1, big, sizeof big), XPORT_EINVAL);
    assert_int_equal(xh_send(H, 0, 0, big, 1), XPORT_EINVAL);
    assert_int_equal(xh_send(H, 0, 7, big, 1), XPORT_EINVAL);
    assert_int_equal(xh_send(H, 0, 2, big, 1), XPORT_EAGAIN); /* not connected */
    assert_int_equal(xh_send(H, 0, 1, big, 0), XPORT_OK);      /* empty is a message */
    xh_run(H, H->now + 50 * US);
    assert_int_equal(H->node[1].delivered[0], 1);
    assert_int_equal(H->node[1].log[0].len, 0);
}

/* The peer's RNIC dies: the next send ends in RETRY_EXC_ERR; the peer is
 * down exactly once (the flushed RECVs do not repeat it), sends refused. */
static void test_peer_dies(void **state)
{
    (void)state;
    up_pair();
    xh_kill(H, 1);
    assert_int_equal(xh_send(H, 0, 1, "a", 1), XPORT_OK);
    assert_int_equal(xh_send(H, 0, 1, "b", 1), XPORT_OK);
    xh_run(H, H->now + 200 * US);
    const struct xh_node *a = &H->node[0];
    assert_int_equal(a->downs[1], 1);
    assert_int_equal(a->down_status[1], HAL_NET_WC_RETRY_EXC_ERR);
    assert_int_equal(a->peers[1].eState, XP_DOWN);
    assert_int_equal(a->peers[1].nRecvPosted, 0); /* flushed and counted off */
    assert_int_equal(a->peers[1].nSendOut, 0);
    assert_int_equal(a->x.nPeersDown, 1);
    assert_int_equal(xh_send(H, 0, 1, "c", 1), XPORT_EDOWN);
    assert_int_equal(xh_connect(H, 0, 1), XPORT_EDOWN);
    xh_run(H, H->now + 5 * MS);
    assert_int_equal(a->downs[1], 1);
    /* the dead node's kernel: its own sends never complete -> op_timeout */
    assert_int_equal(xh_send(H, 1, 0, "z", 1), XPORT_OK);
    xh_run(H, H->now + 2 * MS);
    assert_int_equal(H->node[1].downs[0], 1);
    assert_int_equal(H->node[1].down_status[0], XPORT_DOWN_TIMEOUT);
    assert_int_equal(xh_send(H, 1, 0, "z", 1), XPORT_EDOWN);
}

/* No traffic at all: keepalives find the death, on both sides. */
static void test_keepalive_finds_death(void **state)
{
    (void)state;
    boot(2, true);
    xh_connect(H, 0, 1);
    xh_run(H, H->now + 100 * US);
    assert_int_equal(xport_peer_state(&H->node[0].x, 1), XP_UP);
    xh_run(H, H->now + 200 * US); /* keepalives between live peers: nothing happens */
    assert_true(H->node[0].x.nKeepalives > 0);
    assert_int_equal(H->node[0].downs[1] + H->node[1].downs[0], 0);
    assert_int_equal(H->node[1].delivered[0], 0); /* keepalives are not messages */
    xh_kill(H, 1);
    xh_run(H, H->now + 3 * MS);
    assert_int_equal(H->node[0].downs[1], 1);
    assert_int_equal(H->node[0].down_status[1], HAL_NET_WC_RETRY_EXC_ERR);
    assert_int_equal(H->node[1].downs[0], 1);
    assert_int_equal(H->node[1].down_status[0], XPORT_DOWN_TIMEOUT);
    /* nothing left to do: no timer armed forever */
    assert_int_equal(xport_next_deadline(&H->node[0].x), 0);
}

/* Connecting to a node whose RNIC is dead: REQs are lost, retried, then
 * the peer is down; the other peers are unaffected. */
static void test_handshake_gives_up(void **state)
{
    (void)state;
    boot(3, false);
    xh_kill(H, 2);
    xh_connect(H, 0, 2);
    xh_connect(H, 0, 1);
    xh_run(H, H->now + 5 * MS);
    struct xport_config k;
    cfg_default(&k, false);
    assert_int_equal(H->node[0].downs[2], 1);
    assert_int_equal(H->node[0].down_status[2], XPORT_DOWN_HANDSHAKE);
    assert_int_equal(H->node[0].peers[2].nRetry, k.handshake_retries);
    assert_int_equal(xport_peer_state(&H->node[0].x, 1), XP_UP);
}

/* A platform without an RNIC: the transport says so and stays off. */
static void test_no_network(void **state)
{
    (void)state;
    struct xport_config k;
    cfg_default(&k, false);
    xh_init(H, 1, &k);
    H->node[0].no_net = true;
    assert_int_equal(xport_start(&H->node[0].x, &H->node[0].cpu), XPORT_ENET);
    assert_int_equal(xport_check(&H->node[0].x), 0);
    k.nodes = 2;
    k.self = 2;
    struct xport x;
    struct xport_peer p[2];
    assert_int_equal(xport_init(&x, &k, p, H->node[0].x.ops, NULL), XPORT_EINVAL);
}

/* xport_check catches a broken invariant (it can fail). */
static void test_check_catches(void **state)
{
    (void)state;
    up_pair();
    struct xport *x = &H->node[0].x;
    assert_int_equal(xport_check(x), 0);
    x->aPeer[1].nRecvPosted = 99;
    assert_int_equal(xport_check(x), 6);
    x->aPeer[1].nRecvPosted = 4;
    x->aPeer[2].qpn = x->aPeer[1].qpn;
    assert_int_equal(xport_check(x), 8); /* two peers on one QP */
    x->aPeer[2].qpn = 0;
    x->nPeersDown = 1;
    assert_int_equal(xport_check(x), 9);
    x->nPeersDown = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_boot_qp1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_one_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_before_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simultaneous_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_mesh_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delivery_and_replenish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_finds_death, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_catches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
