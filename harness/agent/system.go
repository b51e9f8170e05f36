package agent

// The duties of PID 1 in the VM: mount what the suites need, bring up lo,
// open the result port raw, and power off at the end.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llconform/llconform/harness/agent/protocol"
	"golang.org/x/sys/unix"
)

// mounts are the filesystems the suites need; securityfs is optional
// (it only gives the LSM list), and so is tracefs.
var mounts = []struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool
}{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755", false},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777", false},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755", false},
	{"securityfs", "/sys/kernel/security", "securityfs", 0, "", true},
	// tracefs for the trace event cases (suites/trace.go); a kernel
	// without tracing has no mount point for it.
	{"tracefs", "/sys/kernel/tracing", "tracefs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", true},
}

// Setup mounts the filesystems, loads the modules the host supplied and
// brings the loopback interface up.
func Setup() error {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil && !m.optional {
			return err
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && !m.optional && err != unix.EBUSY {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	loadedModules = loadModules("/" + protocol.ModuleDir)
	return loopbackUp()
}

// loadedModules is what Setup's loadModules said, for the header.
var loadedModules []string

// loadModules loads the modules in dir in the order of their names and
// says, per module, its name or why it did not load. A module that fails
// leaves its cases to skip with the reason; it does not stop the run.
func loadModules(dir string) []string {
	ents, _ := os.ReadDir(dir) // none: a kernel without supplied modules
	var out []string
	for _, e := range ents {
		name, ok := protocol.ModuleName(e.Name())
		if !ok {
			continue
		}
		err := loadModule(filepath.Join(dir, e.Name()))
		var errno unix.Errno
		switch {
		case err == nil, errors.Is(err, unix.EEXIST):
		case errors.As(err, &errno):
			name += ": " + unix.ErrnoName(errno)
		default:
			name += ": " + err.Error()
		}
		out = append(out, name)
	}
	return out
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), "", 0)
}

// loopbackUp sets IFF_UP on lo: it is down at boot, and the network cases
// need 127.0.0.1 and ::1.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket for lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// Serial is the result channel: the guest's second serial port in raw mode.
type Serial struct{ f *os.File }

// OpenSerial opens dev (e.g. /dev/ttyS1) raw, so the line discipline
// neither echoes nor rewrites the JSON lines.
func OpenSerial(dev string) (*Serial, error) {
	f, err := os.OpenFile(dev, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is not a serial port: %w", dev, err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.B115200
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		f.Close()
		return nil, err
	}
	return &Serial{f: f}, nil
}

func (s *Serial) Write(b []byte) (int, error) { return s.f.Write(b) }

// Close waits until every byte has left the UART (TCSBRK with a non-zero
// argument is tcdrain), then closes it: powering off earlier loses the
// tail of the stream.
func (s *Serial) Close() error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, s.f.Fd(), unix.TCSBRK, 1)
	cerr := s.f.Close()
	if e != 0 {
		return e
	}
	return cerr
}

// PowerOff syncs and powers the VM off; QEMU runs with -no-reboot, so a
// reboot (the fallback) ends it too.
func PowerOff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}
