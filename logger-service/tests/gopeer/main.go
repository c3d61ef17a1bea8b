// Command gopeer is a Go net/rpc/jsonrpc client of the logger's RPC door, as the Go broker
// was: it calls RPCServer.LogInfo several times over one connection, then pipelines calls
// with client.Go, and exits non-zero when a reply is not the one Go's server would give.
//
// Usage: go run . <host:port> <name-prefix> <sequential calls> <pipelined calls>
package main

import (
	"fmt"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"strconv"
)

// RPCPayload is the argument type of the original logger's RPCServer.LogInfo.
type RPCPayload struct {
	Name string
	Data string
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gopeer: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 5 {
		fail("usage: gopeer <host:port> <name-prefix> <sequential> <pipelined>")
	}
	addr, prefix := os.Args[1], os.Args[2]
	sequential, err1 := strconv.Atoi(os.Args[3])
	pipelined, err2 := strconv.Atoi(os.Args[4])
	if err1 != nil || err2 != nil {
		fail("the call counts must be integers")
	}

	client, err := jsonrpc.Dial("tcp", addr)
	if err != nil {
		fail("dial %s: %v", addr, err)
	}
	defer client.Close()

	for i := 0; i < sequential; i++ {
		args := RPCPayload{Name: fmt.Sprintf("%s-seq-%d", prefix, i), Data: fmt.Sprintf("sequential %d", i)}
		var reply string
		if err := client.Call("RPCServer.LogInfo", args, &reply); err != nil {
			fail("call %d: %v", i, err)
		}
		if want := "Processed payload via RPC:" + args.Name; reply != want {
			fail("call %d: reply %q, want %q", i, reply, want)
		}
	}

	calls := make([]*rpc.Call, pipelined)
	replies := make([]string, pipelined)
	for i := range calls {
		args := RPCPayload{Name: fmt.Sprintf("%s-go-%d", prefix, i), Data: fmt.Sprintf("pipelined %d", i)}
		calls[i] = client.Go("RPCServer.LogInfo", args, &replies[i], nil)
	}
	for i, call := range calls {
		<-call.Done
		if call.Error != nil {
			fail("pipelined call %d: %v", i, call.Error)
		}
		if want := fmt.Sprintf("Processed payload via RPC:%s-go-%d", prefix, i); replies[i] != want {
			fail("pipelined call %d: reply %q, want %q", i, replies[i], want)
		}
	}

	var reply string
	err = client.Call("RPCServer.Missing", RPCPayload{Name: "x"}, &reply)
	if want := "rpc: can't find method RPCServer.Missing"; err == nil || err.Error() != want {
		fail("unknown method: error %v, want %q", err, want)
	}
	args := RPCPayload{Name: prefix + "-after-error", Data: "the connection survives an error"}
	if err := client.Call("RPCServer.LogInfo", args, &reply); err != nil {
		fail("call after an error reply: %v", err)
	}
	fmt.Printf("ok: %d sequential and %d pipelined calls on one connection\n", sequential, pipelined)
}
