/* Linked-list processing (the kind CoreMark's list benchmark does): build
 * a list from a pseudo-random sequence, reverse it, find, remove every
 * third node, sort by merge, and check a checksum computed independently
 * over an array. Prints the checksum; exit 0 only if both agree. */
#include <stdio.h>
#include <stdlib.h>

struct node { struct node *next; unsigned key; };

static unsigned lcg(unsigned *s) { return *s = *s * 1103515245u + 12345u; }

static struct node *merge(struct node *a, struct node *b)
{
    struct node head = {0, 0}, *t = &head;
    while (a && b) {
        if (a->key <= b->key) t->next = a, a = a->next;
        else t->next = b, b = b->next;
        t = t->next;
    }
    t->next = a ? a : b;
    return head.next;
}

static struct node *sort(struct node *l)
{
    if (!l || !l->next) return l;
    struct node *slow = l, *fast = l->next;
    while (fast && fast->next) slow = slow->next, fast = fast->next->next;
    struct node *r = slow->next;
    slow->next = NULL;
    return merge(sort(l), sort(r));
}

static int cmp(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 3000, seed = 42;
    struct node *l = NULL;
    unsigned *ref = malloc(n * sizeof *ref), m = 0;
    for (unsigned i = 0; i < n; i++) {
        struct node *x = malloc(sizeof *x);
        x->key = lcg(&seed) >> 8;
        x->next = l;
        l = x;
    }
    struct node *rev = NULL; /* reverse: back to insertion order */
    while (l) { struct node *x = l->next; l->next = rev; rev = l; l = x; }
    unsigned i = 0;
    for (struct node **pp = &rev; *pp; i++) {
        if (i % 3 == 2) { struct node *x = *pp; *pp = x->next; free(x); }
        else { ref[m++] = (*pp)->key; pp = &(*pp)->next; }
    }
    rev = sort(rev);
    qsort(ref, m, sizeof *ref, cmp);
    unsigned long sum = 0, rsum = 0, k = 0;
    int ok = 1;
    for (struct node *x = rev; x; x = x->next, k++) {
        sum = sum * 31 + x->key;
        ok &= k < m && x->key == ref[k];
    }
    for (k = 0; k < m; k++) rsum = rsum * 31 + ref[k];
    printf("list: %u nodes kept, checksum %016lx %s\n", m, sum, ok && sum == rsum ? "ok" : "MISMATCH");
    return ok && sum == rsum ? 0 : 1;
}
