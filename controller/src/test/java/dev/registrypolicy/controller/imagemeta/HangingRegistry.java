package dev.registrypolicy.controller.imagemeta;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A "registry" on loopback that accepts every connection and never answers (not even the TLS
 * handshake): what deadline and {@code onError} tests point images at.
 */
public final class HangingRegistry implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> hung = new ArrayList<>();

  private HangingRegistry(ServerSocket server) {
    this.server = server;
  }

  /** Listening on a free loopback port, accepting on a daemon thread. */
  public static HangingRegistry start() throws IOException {
    HangingRegistry r =
        new HangingRegistry(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    Thread acceptor = new Thread(r::accept, "hanging-registry");
    acceptor.setDaemon(true);
    acceptor.start();
    return r;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept(); // accepted, never answered
        synchronized (hung) {
          hung.add(s);
        }
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  /** {@code 127.0.0.1:<port>}, as an image reference's host. */
  public String host() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /** Stops accepting and drops every held connection. */
  @Override
  public void close() throws IOException {
    server.close();
    synchronized (hung) {
      for (Socket s : hung) {
        s.close();
      }
    }
  }
}
