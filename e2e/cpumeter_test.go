package e2e

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuMeter reads the CPU time spent between start and perEvent: the whole
// machine's (every process: the program, the load, PostgreSQL) from
// /proc/stat, and this process's (the program and the load, which share
// it) from getrusage. On a machine whose cores all three share, the rate
// two setups reach is bound by their machine CPU an event, whatever the
// design: 2 cores / 40 µs is 50,000 events/s.
type cpuMeter struct {
	machine, self time.Duration
	ok            bool
}

func startCPU() cpuMeter {
	m, s, ok := cpuNow()
	return cpuMeter{machine: m, self: s, ok: ok}
}

// perEvent returns the machine's and this process's CPU microseconds an
// event over n events since start; both 0 where /proc/stat cannot be read
// (reportCPU then reports nothing).
func (c cpuMeter) perEvent(n int) (machine, self float64) {
	m, s, ok := cpuNow()
	if !ok || !c.ok || n <= 0 {
		return 0, 0
	}
	return float64((m - c.machine).Microseconds()) / float64(n), float64((s - c.self).Microseconds()) / float64(n)
}

// cpuNow returns the machine's busy CPU time (every core, user, system,
// interrupts; not idle or waiting on the disk) and this process's.
func cpuNow() (machine, self time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, false
	}
	var busy int64
	for i, x := range f[1:] {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		switch i {
		case 0, 1, 2, 5, 6, 7: // user, nice, system, irq, softirq, steal (guest is in user)
			busy += v
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, false
	}
	// /proc/stat counts in USER_HZ, 100 a second on Linux.
	return time.Duration(busy) * 10 * time.Millisecond, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
