/* The shell around a core's pipeline: caches, local time, step and run
 * flags, liveness (hw/core.h). */
#include "hw/core.h"

#include "orrery/checkpoint.h"

int core_shell_create(struct core_shell *sh, struct orr_component *c, const struct orr_params *p,
                      const struct pcache_ops *ops, void *arg, uint16_t tag_step,
                      uint16_t tag_deadlock, struct orr_diag *d)
{
    sh->c = c;
    sh->tag_step = tag_step;
    sh->tag_deadlock = tag_deadlock;
    int rc = pcache_setup_parse(&sh->setup, c, p, d);
    if (rc)
        return rc;
    sh->cycle = sh->setup.cfg.cycle_ps;
    sh->quantum = orr_param_u64(p, "quantum");
    sh->deadlock = orr_param_u64(p, "deadlock");
    return pcache_init(&sh->pc, c, orr_port_add(c, "mem"), &sh->setup.cfg, ops, arg);
}

int core_shell_check_linked(const struct core_shell *sh, struct orr_diag *d)
{
    if (orr_port_peer(sh->pc.port))
        return 0;
    orr_diag_error(d, &sh->c->mark, sh->c->keypath, "port 'mem' is not linked");
    return ORR_ESCHEMA;
}

void core_shell_arm_deadlock(struct core_shell *sh)
{
    orr_timer(sh->c, sh->deadlock / 2, sh->tag_deadlock, 0, 0);
}

enum core_event core_shell_event(struct core_shell *sh, const struct orr_event *ev)
{
    switch (ev->kind) {
    case ORR_TK_TIMER:
        if (ev->port == sh->tag_deadlock) {
            /* a line in flight for `deadlock` fails the run; else look again */
            if (!pcache_deadlocked(&sh->pc, sh->deadlock) && !sh->done)
                core_shell_arm_deadlock(sh);
            return CORE_EV_STOP;
        }
        if (ev->port == sh->tag_step) {
            sh->step_pending = false;
            sh->run_pending = true;
            return CORE_EV_RUN;
        }
        return CORE_EV_OTHER;
    case ORR_TK_MSG:
        pcache_message(&sh->pc, ev);
        return CORE_EV_RUN;
    case ORR_TK_READY:
        pcache_ready(&sh->pc);
        return CORE_EV_RUN;
    default:
        return CORE_EV_OTHER;
    }
}

void core_shell_catch_up(struct core_shell *sh)
{
    orr_time_t now = orr_now(sh->c->sim);
    if (sh->local < now)
        sh->local = now;
}

bool core_shell_ahead(struct core_shell *sh)
{
    orr_time_t now = orr_now(sh->c->sim);
    if (sh->local - now < sh->quantum)
        return false;
    sh->step_pending = true;
    orr_timer(sh->c, sh->local - now, sh->tag_step, 0, 0);
    return true;
}

void core_shell_free(struct core_shell *sh)
{
    pcache_free(&sh->pc);
    pcache_setup_free(&sh->setup);
}

void core_shell_save(const struct core_shell *sh, struct orr_ckpt_writer *w)
{
    orr_ckpt_put_u64(w, sh->cycle);
    orr_ckpt_put_u64(w, sh->local);
    orr_ckpt_put_u8(w, sh->step_pending);
    orr_ckpt_put_u8(w, sh->run_pending);
    orr_ckpt_put_u8(w, sh->done);
    orr_ckpt_put_u64(w, sh->pc.cfg.cycle_ps); /* DVFS changes it with cycle */
    pcache_save(&sh->pc, w);
}

void core_shell_restore(struct core_shell *sh, struct orr_ckpt_reader *r)
{
    sh->cycle = orr_ckpt_get_u64(r);
    sh->local = orr_ckpt_get_u64(r);
    sh->step_pending = orr_ckpt_get_u8(r) != 0;
    sh->run_pending = orr_ckpt_get_u8(r) != 0;
    sh->done = orr_ckpt_get_u8(r) != 0;
    sh->pc.cfg.cycle_ps = orr_ckpt_get_u64(r);
    if (sh->cycle == 0)
        orr_ckpt_fail(r, "a core clock of zero");
    pcache_restore(&sh->pc, r);
}
