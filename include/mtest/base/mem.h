/* mtest: the memory of the fixed tables. */
#ifndef MTEST_MEM_H
#define MTEST_MEM_H

/* Keep transparent huge pages off the binary's static data: the tables are
 * sized for the worst case and mostly untouched, but under THP "always"
 * (Debian's kernels) a first touch faults in 2 MiB, and peak memory grows
 * sixfold (21 MiB instead of 3.4). Only this process: nothing is inherited
 * by what it executes. */
void mt_mem_no_huge_pages(void);

#endif
