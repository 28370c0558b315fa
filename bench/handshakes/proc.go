package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc (USER_HZ), 100 on every Linux we run on.
const clockTick = 10 * time.Millisecond

// procCPU returns the CPU time (user and system) process pid used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// "pid (comm) state …": utime and stime are the 12th and 13th fields after the comm.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return time.Duration(u+s) * clockTick, nil
}

// procStatus returns a field of /proc/PID/status in bytes ("VmRSS", "VmHWM").
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n << 10, err
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// procComm returns the command name of process pid.
func procComm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// execd waits up to a second for process pid, started through ip netns exec, to become want:
// ip enters the namespace and then executes the program in the same process.
func execd(pid int, want string) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if procComm(pid) == want {
			return true
		}
	}
	return false
}

// busyCPU returns the CPU time all cores spent not idle so far (from /proc/stat), to tell
// how much of a run went to processes other than the ones measured.
func busyCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * clockTick
}

// Machine is what the numbers were measured on.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryGiB  int64  `json:"memory_gib"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	Revision   string `json:"p2sgw_revision"`
	StrongSwan string `json:"strongswan"`
	LoadAvg    string `json:"loadavg_at_start"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: output("go", "version")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		var flags []string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch strings.TrimSpace(k) {
			case "model name":
				if m.CPU == "" {
					m.CPU = strings.TrimSpace(v)
				}
			case "flags":
				if flags == nil {
					have := strings.Fields(v)
					for _, f := range []string{"aes", "pclmulqdq", "avx2", "vaes", "avx512f", "sha_ni"} {
						if slices.Contains(have, f) {
							flags = append(flags, f)
						}
					}
				}
			}
		}
		m.CPU += " (" + strings.Join(flags, ", ") + ")"
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(string(b)) // MemTotal: N kB
		if len(f) > 1 {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			m.MemoryGiB = (kb + 1<<19) >> 20
		}
	}
	m.Kernel = output("uname", "-r")
	m.Revision = output("git", "rev-parse", "--short", "HEAD")
	if output("git", "status", "--porcelain") != "" {
		m.Revision += " + uncommitted changes"
	}
	m.StrongSwan = "charon-systemd " + output("dpkg-query", "-W", "-f", "${Version}", "charon-systemd")
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.TrimSpace(string(b))
	}
	return m
}

// output runs a command and returns its trimmed output, or "" if it failed.
func output(name string, args ...string) string {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
