package docker

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"

	"skiff.dev/skiff/internal/config/schema"
)

// maxPortTries is how many local ports after the requested one are tried
// when it is taken.
const maxPortTries = 100

// forward is a container port to publish on a local address.
type forward struct {
	addr netip.Addr
	port network.Port // the container's port, tcp
	// local is the requested local port: localPort, or else the
	// container's port.
	local int
}

// hostPort is a local address and port.
type hostPort struct {
	addr netip.Addr
	port int
}

// binding is a forward and the local port it got.
type binding struct {
	forward
	host int
}

func (b binding) hostPort() hostPort { return hostPort{b.addr, b.host} }

// report is the line that tells the user where the forward listens.
func (b binding) report(container string) string {
	s := fmt.Sprintf("Port forwarding container %s, remote port %d -> http://%s",
		container, b.port.Num(), net.JoinHostPort(b.addr.String(), strconv.Itoa(b.host)))
	if b.host != b.local {
		s += fmt.Sprintf(" (local port %d is taken)", b.local)
	}
	return s
}

// forwardsFor returns the forwards of pfs for the container that runs
// image: those with resourceType container whose resourceName is the
// image's name or its container's name (case aside, as in Skaffold).
func forwardsFor(image string, pfs []schema.PortForwardResource) ([]forward, error) {
	var out []forward
	for _, pf := range pfs {
		if !strings.EqualFold(string(pf.Type), "container") ||
			!(strings.EqualFold(pf.Name, image) || strings.EqualFold(pf.Name, containerName(image))) {
			continue
		}
		where := fmt.Sprintf("portForward of container %s, port %s", pf.Name, pf.Port)
		if pf.Port.Type != schema.TypeInt {
			return nil, fmt.Errorf("%s: a container's port must be a number; containers have no named ports", where)
		}
		if pf.Port.IntVal < 1 || pf.Port.IntVal > 65535 {
			return nil, fmt.Errorf("%s: not a port number (1-65535)", where)
		}
		port, _ := network.PortFrom(uint16(pf.Port.IntVal), network.TCP)
		f := forward{port: port, local: pf.LocalPort}
		if f.local == 0 {
			f.local = pf.Port.IntVal
		}
		if f.local < 1 || f.local > 65535 {
			return nil, fmt.Errorf("%s: localPort %d is not a port number (1-65535)", where, pf.LocalPort)
		}
		switch pf.Address {
		case "", "localhost":
			f.addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		default:
			a, err := netip.ParseAddr(pf.Address)
			if err != nil {
				return nil, fmt.Errorf("%s: address %q is not an IP address (such as 127.0.0.1)", where, pf.Address)
			}
			f.addr = a
		}
		out = append(out, f)
	}
	return out, nil
}

// allocate gives each forward its requested local port, or the next one
// up that is free and not in used, which it adds them to.
func (d *Deployer) allocate(container string, fwds []forward, used map[hostPort]bool) ([]binding, error) {
	var out []binding
	for _, f := range fwds {
		b := binding{forward: f}
		for p := f.local; p <= 65535 && p < f.local+maxPortTries; p++ {
			hp := hostPort{f.addr, p}
			if !used[hp] && d.portFree(f.addr, p) {
				used[hp] = true
				b.host = p
				break
			}
		}
		if b.host == 0 {
			return nil, fmt.Errorf("forwarding container %s port %d: local ports %d to %d on %s are all taken; free one, or set another localPort",
				container, f.port.Num(), f.local, min(f.local+maxPortTries-1, 65535), f.addr)
		}
		out = append(out, b)
	}
	return out, nil
}

// conflicting returns the local ports of binds that the daemon's error
// says are taken ("Bind for 127.0.0.1:8080 failed: port is already
// allocated", "listen tcp4 127.0.0.1:8080: bind: address already in
// use").
func conflicting(err error, binds []binding) []hostPort {
	msg := err.Error()
	if !strings.Contains(msg, "port is already allocated") && !strings.Contains(msg, "address already in use") {
		return nil
	}
	var out []hostPort
	for _, b := range binds {
		if strings.Contains(msg, net.JoinHostPort(b.addr.String(), strconv.Itoa(b.host))) ||
			strings.Contains(msg, fmt.Sprintf(":%d ", b.host)) || strings.Contains(msg, fmt.Sprintf(":%d:", b.host)) {
			out = append(out, b.hostPort())
		}
	}
	return out
}

// listenable says whether a TCP listener can be opened on addr:port.
func listenable(addr netip.Addr, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(addr.String(), strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
