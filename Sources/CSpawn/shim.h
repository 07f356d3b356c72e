#include <spawn.h>

/* glibc 2.34 and later: in the child, close every descriptor from `from` up. Declared here
   because <spawn.h> declares it only under _GNU_SOURCE, which Swift's Glibc module is built
   without. Hooks must not inherit segd's listening socket, logs or segment files. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
