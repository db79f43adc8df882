//go:build unix

package readlimit

import "syscall"

const syscallNonBlock = syscall.O_NONBLOCK
