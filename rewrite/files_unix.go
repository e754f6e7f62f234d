//go:build unix

package rewrite

import (
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// openNonblock keeps an open from waiting for a FIFO's writer.
const openNonblock = syscall.O_NONBLOCK | syscall.O_NOCTTY

type owner struct {
	uid, gid int
	links    uint64
}

func ownerOf(info fs.FileInfo) owner {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return owner{int(st.Uid), int(st.Gid), uint64(st.Nlink)}
	}
	return owner{-1, -1, 1}
}

// keepOwner gives f the owner and group o, if it has not got them.
func keepOwner(f *os.File, o owner) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if now := ownerOf(info); now.uid == o.uid && now.gid == o.gid || o.uid < 0 {
		return nil
	}
	return f.Chown(o.uid, o.gid)
}

// writable reports whether this process may write path (root may write
// anything; the mode bits are checked apart).
func writable(path string) bool {
	return syscall.Access(path, 2 /* W_OK */) == nil
}

func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

var watching sync.Once

// onSignal makes the first SIGINT or SIGTERM run fn (the first fn given)
// and then be delivered again, so that the process ends as it would have;
// a program that handles the signal itself gets it too.
func onSignal(fn func()) {
	watching.Do(func() {
		// A signal the process was started ignoring (a background job's
		// SIGINT) stays ignored.
		var sigs []os.Signal
		for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
			if !signal.Ignored(sig) {
				sigs = append(sigs, sig)
			}
		}
		if len(sigs) == 0 {
			return
		}
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, sigs...)
		go func() {
			sig := <-ch
			fn()
			signal.Stop(ch)
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		}()
	})
}
