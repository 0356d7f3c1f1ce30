package dev.metering.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** Free TCP ports on the loopback interface, for brokers, databases and services in tests. */
public final class FreePorts {
    private FreePorts() {
    }

    /** A port nothing listens on right now (the OS picks it). */
    public static int pick() {
        return pick(1)[0];
    }

    /**
     * {@code count} different ports nothing listens on right now. They are held open together while the OS picks them:
     * picked one after the other, a port closed again may come back at once (a broker's listener and controller
     * were once given the same port).
     */
    public static int[] pick(int count) {
        List<ServerSocket> sockets = new ArrayList<>(count);
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                socket.setReuseAddress(true);
                sockets.add(socket);
                ports[i] = socket.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("No free port", e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException e) {
                    // closing a socket that never served anyone: nothing to do
                }
            }
        }
    }

    /** A free port other than {@code taken} (a port given by the caller, which may not be listening yet). */
    public static int pickOtherThan(int taken) {
        for (int[] ports = pick(2); ; ports = pick(2)) {
            if (ports[0] != taken) {
                return ports[0];
            }
            if (ports[1] != taken) {
                return ports[1];
            }
        }
    }
}
