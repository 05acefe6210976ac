package dev.registrypolicy.agent.lab;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** Free TCP ports on 127.0.0.1, taken together so that none of them repeats. */
public final class FreePorts {

  private FreePorts() {}

  /**
   * Binds {@code count} listeners at once, notes their ports and releases them. The ports are then
   * free for the daemons that are started right after; holding all sockets open until every port is
   * known is what keeps the kernel from handing out the same port twice.
   */
  public static int[] allocate(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket s = new ServerSocket();
        sockets.add(s);
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }
}
