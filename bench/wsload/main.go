// WebSocket echo load generator for bench/ws.mjs: a compiled client, so that the servers, not the load
// generator, are what saturates (the `ws` client in Node tops out near 70k round trips/s on one core,
// which is about what both servers serve).
//
// Each of -connections clients sends -inflight masked text frames of -payload bytes, waits for all their
// echoes, and repeats. Linux only (epoll). Prints T0 after -warmup seconds and T1 after -duration more (bench/ws.mjs reads
// the server's CPU time between them), then `RESULT {"count":…,"perSecond":…,"clientBusy":…}`.
// Standard library only: `go build -o bench/out/wsload ./bench/wsload`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "server host:port")
	path := flag.String("path", "/echo", "WebSocket path")
	connections := flag.Int("connections", 100, "clients")
	inflight := flag.Int("inflight", 1, "messages each client sends before waiting for their echoes")
	payload := flag.Int("payload", 32, "text message size in bytes (< 126)")
	warmup := flag.Float64("warmup", 1, "seconds before counting")
	duration := flag.Float64("duration", 5, "seconds counted")
	flag.Parse()
	if *payload >= 126 {
		fail(fmt.Errorf("-payload must be below 126 bytes"))
	}

	frames := maskedTextFrames(*payload, *inflight)
	echoBytes := (2 + *payload) * *inflight // the server's frames are unmasked, 2-byte headers
	// One thread, one epoll set, non-blocking sockets: a round trip costs the client one write and one
	// read (epoll_wait is shared by every socket ready at once), where a goroutine per connection
	// costs several more calls to park and wake.
	poll, err := syscall.EpollCreate1(0)
	if err != nil {
		fail(err)
	}
	waiting := map[int32]int{} // fd -> echo bytes still to read
	for i := 0; i < *connections; i++ {
		fd, err := open(*addr, *path)
		if err != nil {
			fail(err)
		}
		event := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(poll, syscall.EPOLL_CTL_ADD, fd, &event); err != nil {
			fail(err)
		}
		send(fd, frames)
		waiting[int32(fd)] = echoBytes
	}

	var count int64
	counting := false
	buffer := make([]byte, 64*1024)
	events := make([]syscall.EpollEvent, 256)
	phaseEnd := time.Now().Add(seconds(*warmup))
	var start time.Time
	var cpu0 time.Duration
	for {
		n, err := syscall.EpollWait(poll, events, 100)
		if err != nil && err != syscall.EINTR {
			fail(err)
		}
		for _, event := range events[:max(n, 0)] {
			fd := int(event.Fd)
			got, err := syscall.Read(fd, buffer[:min(len(buffer), waiting[event.Fd])])
			if err == syscall.EAGAIN {
				continue
			}
			if err != nil || got == 0 {
				fail(fmt.Errorf("connection lost: %v", err))
			}
			waiting[event.Fd] -= got
			if waiting[event.Fd] > 0 {
				continue
			}
			if counting {
				count += int64(*inflight)
			}
			send(fd, frames)
			waiting[event.Fd] = echoBytes
		}
		if now := time.Now(); now.After(phaseEnd) {
			if counting {
				break
			}
			counting = true
			fmt.Println("T0")
			start, cpu0 = now, cpuTime()
			phaseEnd = now.Add(seconds(*duration))
		}
	}
	fmt.Println("T1")
	elapsed := time.Since(start).Seconds()
	busy := (cpuTime() - cpu0).Seconds() / elapsed
	for fd := range waiting {
		syscall.Close(int(fd))
	}
	result, _ := json.Marshal(map[string]float64{
		"count": float64(count), "perSecond": float64(count) / elapsed, "clientBusy": busy,
	})
	fmt.Printf("RESULT %s\n", result)
}

// send writes a whole buffer to a non-blocking socket (a few frames fit its send buffer at once).
func send(fd int, data []byte) {
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		if err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			fail(err)
		}
		data = data[n:]
	}
}

// open connects and completes the opening handshake (no extensions offered), then makes the socket
// non-blocking.
func open(addr, path string) (int, error) {
	tcp, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return 0, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return 0, err
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	var ip [4]byte
	copy(ip[:], tcp.IP.To4())
	if err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: tcp.Port, Addr: ip}); err != nil {
		return 0, err
	}
	request := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	send(fd, []byte(request))
	var head []byte
	one := make([]byte, 1) // byte by byte: nothing past the head may be consumed
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if n, err := syscall.Read(fd, one); err != nil || n == 0 {
			return 0, fmt.Errorf("handshake: %v", err)
		}
		head = append(head, one[0])
	}
	if !strings.HasPrefix(string(head), "HTTP/1.1 101") {
		return 0, fmt.Errorf("handshake refused: %q", head)
	}
	return fd, syscall.SetNonblock(fd, true)
}

// maskedTextFrames is `count` client text frames of `size` bytes each, back to back.
func maskedTextFrames(size, count int) []byte {
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	frame := []byte{0x81, 0x80 | byte(size), mask[0], mask[1], mask[2], mask[3]}
	for i := 0; i < size; i++ {
		frame = append(frame, 'x'^mask[i%4])
	}
	out := make([]byte, 0, len(frame)*count)
	for i := 0; i < count; i++ {
		out = append(out, frame...)
	}
	return out
}

func cpuTime() time.Duration {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wsload:", err)
	os.Exit(1)
}
