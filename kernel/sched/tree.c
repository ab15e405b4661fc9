/* The intrusive treap behind the fair (key = vruntime, aug = virtual deadline)
 * and deadline (key = absolute deadline) runqueues.
 *
 * Why a treap: O(log n) expected for insert/remove/first with one rotation
 * primitive and no recursion; the heap priorities are a hash of the task id,
 * so the shape depends only on the operations, never on addresses.
 *
 * Invariants (sched_tree_check):
 *   1. in-order traversal is sorted by (key, tie), key compared wrap-safe;
 *   2. a parent's prio <= its children's prio;
 *   3. n->aug_min == min(n->aug, left->aug_min, right->aug_min);
 *   4. child->parent == parent. */
#include "internal.h"

uint32_t sched_tree_prio(uint64_t id)
{
    /* splitmix64 finaliser: a fixed bijection, well mixed */
    uint64_t z = id + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)(z ^ (z >> 31));
}

static bool node_less(const struct sched_node *a, const struct sched_node *b)
{
    if (a->key != b->key)
        return sched_before(a->key, b->key);
    return a->tie < b->tie;
}

static void update_one(struct sched_node *n)
{
    uint64_t m = n->aug;
    if (n->left && sched_before(n->left->aug_min, m))
        m = n->left->aug_min;
    if (n->right && sched_before(n->right->aug_min, m))
        m = n->right->aug_min;
    n->aug_min = m;
}

void sched_tree_update_path(struct sched_node *n)
{
    for (; n; n = n->parent)
        update_one(n);
}

static void replace_child(struct sched_node **root, struct sched_node *parent,
                          struct sched_node *old, struct sched_node *new)
{
    if (!parent)
        *root = new;
    else if (parent->left == old)
        parent->left = new;
    else
        parent->right = new;
}

/* Rotate x above its parent p, keeping order; fixes aug_min of p and x (the
 * set of nodes under x's new position is p's old set: ancestors unchanged). */
static void rotate_up(struct sched_node **root, struct sched_node *x)
{
    struct sched_node *p = x->parent, *g = p->parent;
    if (p->left == x) {
        p->left = x->right;
        if (x->right)
            x->right->parent = p;
        x->right = p;
    } else {
        p->right = x->left;
        if (x->left)
            x->left->parent = p;
        x->left = p;
    }
    p->parent = x;
    x->parent = g;
    replace_child(root, g, p, x);
    update_one(p);
    update_one(x);
}

void sched_tree_insert(struct sched_node **root, struct sched_node *n)
{
    struct sched_node *parent = NULL, **link = root;
    n->left = n->right = NULL;
    n->aug_min = n->aug;
    while (*link) {
        parent = *link;
        link = node_less(n, parent) ? &parent->left : &parent->right;
    }
    n->parent = parent;
    *link = n;
    sched_tree_update_path(parent);
    while (n->parent && n->prio < n->parent->prio)
        rotate_up(root, n);
}

void sched_tree_remove(struct sched_node **root, struct sched_node *n)
{
    /* rotate n down (its lower-prio child up) until it is a leaf */
    while (n->left || n->right) {
        struct sched_node *c;
        if (!n->left)
            c = n->right;
        else if (!n->right)
            c = n->left;
        else
            c = n->left->prio < n->right->prio ? n->left : n->right;
        rotate_up(root, c);
    }
    struct sched_node *p = n->parent;
    replace_child(root, p, n, NULL);
    n->parent = NULL;
    sched_tree_update_path(p);
}

struct sched_node *sched_tree_first(struct sched_node *root)
{
    if (!root)
        return NULL;
    while (root->left)
        root = root->left;
    return root;
}

struct sched_node *sched_tree_next(struct sched_node *n)
{
    if (n->right) {
        n = n->right;
        while (n->left)
            n = n->left;
        return n;
    }
    while (n->parent && n->parent->right == n)
        n = n->parent;
    return n->parent;
}

int sched_tree_check(const struct sched_node *root)
{
    if (root && root->parent)
        return 1;
    const struct sched_node *prev = NULL;
    for (struct sched_node *n = sched_tree_first((struct sched_node *)root); n;
         n = sched_tree_next(n)) {
        if (prev && !node_less(prev, n))
            return 1;
        prev = n;
        uint64_t m = n->aug;
        const struct sched_node *kid[2] = {n->left, n->right};
        for (int i = 0; i < 2; i++) {
            if (!kid[i])
                continue;
            if (kid[i]->parent != n || kid[i]->prio < n->prio)
                return 1;
            if (sched_before(kid[i]->aug_min, m))
                m = kid[i]->aug_min;
        }
        if (m != n->aug_min)
            return 1;
    }
    return 0;
}
