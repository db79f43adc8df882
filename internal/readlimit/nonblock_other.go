//go:build !unix

package readlimit

const syscallNonBlock = 0
