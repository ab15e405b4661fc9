/* Every portable selftest suite, in the order the image runs them. A
 * subsystem adds its `const struct ktest NAME_ktests[]` here, one line each. */
#include "kernel/ktest.h"

extern const struct ktest kstring_ktests[];  /* kernel/lib/kstring_selftest.c */
extern const struct ktest hal_ktests[];      /* kernel/selftest/hal_selftest.c */
extern const struct ktest sched_ktests[];    /* kernel/sched/selftest.c */
extern const struct ktest mm_ktests[];       /* kernel/mm/selftest.c */
extern const struct ktest dev_ktests[];      /* kernel/drivers/selftest.c */
extern const struct ktest iommu_ktests[];    /* kernel/drivers/selftest.c */

const struct ktest_suite ktest_suites[] = {
    {"kstring", kstring_ktests},
    {"hal", hal_ktests},
    {"sched", sched_ktests},
    {"mm", mm_ktests},
    {"dev", dev_ktests},
    {"iommu", iommu_ktests},
    {0, 0},
};
