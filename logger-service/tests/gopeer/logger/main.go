// Command logger is the original Go logger's RPC door as it was: RPCServer.LogInfo served by
// net/rpc with its default codec, gob (rpc.Accept), or with net/rpc/jsonrpc when asked. Each
// payload it receives is printed as a JSON line, so a test can see what a client sent; a
// payload whose Data is "fail" gets an error reply, as a failed insert did in the original.
//
// Usage: logger <host:port> [gob|jsonrpc]; it prints "listening <address>" once it accepts
// connections.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
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
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: logger <host:port> [gob|jsonrpc]")
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
	if len(os.Args) == 3 && os.Args[2] == "jsonrpc" {
		for {
			conn, err := listener.Accept()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			go jsonrpc.ServeConn(conn)
		}
	}
	rpc.Accept(listener)
}
