// Command logger is the original Go logger's RPC door as it was: RPCServer.LogInfo served by
// net/rpc with its default codec, gob (rpc.Accept). Each payload it receives is printed as a
// JSON line, so a test can see what a client sent; a payload whose Data is "fail" gets an
// error reply, as a failed insert did in the original.
//
// Usage: logger <host:port>; it prints "listening <address>" once it accepts connections.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"sync"
)

// RPCPayload is the argument type of RPCServer.LogInfo.
type RPCPayload struct {
	Name string
	Data string
}

// RPCServer is the receiver the original registered.
type RPCServer struct{}

var printing sync.Mutex

// LogInfo records the payload and answers as the original did.
func (r *RPCServer) LogInfo(payload RPCPayload, resp *string) error {
	line, _ := json.Marshal(map[string]string{"name": payload.Name, "data": payload.Data})
	printing.Lock()
	fmt.Println(string(line))
	printing.Unlock()
	if payload.Data == "fail" {
		return errors.New("the insert failed")
	}
	*resp = "Processed payload via RPC:" + payload.Name
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: logger <host:port>")
		os.Exit(2)
	}
	if err := rpc.Register(new(RPCServer)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	listener, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	printing.Lock()
	fmt.Println("listening", listener.Addr())
	printing.Unlock()
	rpc.Accept(listener)
}
