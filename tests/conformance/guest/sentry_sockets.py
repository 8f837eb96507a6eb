"""sentry_sockets: unix (path, relative, abstract), tcp and udp sockets;
prints what it received.  usage: sentry_sockets.py <scratch dir>"""
import socket, os, sys, threading, tempfile
d = sys.argv[1]
# unix stream server/client on a path
srv = socket.socket(socket.AF_UNIX); srv.bind(d + "/s.sock"); srv.listen(1)
print("mode", oct(os.stat(d + "/s.sock").st_mode & 0o777))
cl = socket.socket(socket.AF_UNIX); cl.connect(d + "/s.sock")
c, _ = srv.accept(); cl.sendall(b"ping"); print(c.recv(4))
# relative path bind/connect
os.chdir(d); u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u.bind("d.sock")
v = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); v.sendto(b"dgram", "d.sock"); print(u.recv(10))
# abstract
a = socket.socket(socket.AF_UNIX); a.bind("\0pyrunsc-h1-abs"); a.listen(1)
b = socket.socket(socket.AF_UNIX); b.connect("\0pyrunsc-h1-abs"); print("abstract ok")
# tcp loopback, blocking connect
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(1)
k = socket.socket(); k.connect(t.getsockname()); s2, _ = t.accept(); k.sendall(b"tcp"); print(s2.recv(3))
# udp sendto
x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); x.bind(("127.0.0.1", 0))
y = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); y.sendto(b"udp", x.getsockname()); print(x.recv(3))
try:
    socket.socket(socket.AF_UNIX).connect(d + "/nope")
except OSError as e:
    print("nope", e.errno)
