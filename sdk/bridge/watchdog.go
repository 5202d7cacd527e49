package bridge

import (
	"os"
	"time"
)

// parentPollInterval is how often a served plugin checks that the host that
// launched it is still there. The host promises that its plugins exit within
// 2 s of its death; a quarter of a second of polling costs nothing measurable.
const parentPollInterval = 250 * time.Millisecond

// watchParent calls exit once the process that launched this one is gone, and
// never returns otherwise.
//
// When the host stops, it stops its plugins; when it is killed, on Linux the
// kernel kills them (the host sets a parent-death signal). This watchdog covers
// the rest: a host on a system without that signal, or a launcher that did not
// set it. A process's parent id changes only when its parent dies (the orphan is
// adopted by init or a subreaper), so a changed id is proof, never a guess.
// (On Windows the id never changes, and this does nothing.)
func watchParent(interval time.Duration, getppid func() int, exit func()) {
	parent := getppid()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for range tick.C {
		if getppid() != parent {
			exit()
			return
		}
	}
}

// exitWhenOrphaned ends the plugin process when its host is gone: nothing is
// left to serve, and a plugin holding a bridge's secrets must not outlive it.
func exitWhenOrphaned() {
	watchParent(parentPollInterval, os.Getppid, func() { os.Exit(1) })
}
