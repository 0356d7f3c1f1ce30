package dev.metering.aggregator.topology;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * An in-memory key-value store on a hash map, for {@code unemitted-rollups}: Kafka's in-memory store keeps a sorted
 * map, and comparing its keys (which share a long prefix: the hour, the tenant) was a tenth of the stream thread.
 * Nothing reads this store by range, only by key and all at once (at init), so it needs no order. Like Kafka's
 * in-memory store it is not persistent: the builder's change-logging layer writes its changelog, from which
 * {@link #init} restores it.
 */
final class HashMapKeyValueStore implements KeyValueStore<Bytes, byte[]> {
    private final String name;
    private final Map<Bytes, byte[]> map = new HashMap<>();
    /** Stays empty: nobody queries this store interactively, so it tracks no input positions. */
    private final Position position = Position.emptyPosition();
    private volatile boolean open;

    private HashMapKeyValueStore(String name) {
        this.name = name;
    }

    static KeyValueBytesStoreSupplier supplier(String name) {
        return new KeyValueBytesStoreSupplier() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public KeyValueStore<Bytes, byte[]> get() {
                return new HashMapKeyValueStore(name);
            }

            @Override
            public String metricsScope() {
                return "in-memory"; // the scope of Kafka's in-memory stores, so their metrics share tag names
            }
        };
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        context.register(root, (key, value) -> {
            if (value == null) {
                map.remove(Bytes.wrap(key));
            } else {
                map.put(Bytes.wrap(key), value);
            }
        });
        open = true;
    }

    @Override
    public byte[] get(Bytes key) {
        return map.get(key);
    }

    @Override
    public void put(Bytes key, byte[] value) {
        if (value == null) {
            map.remove(key);
        } else {
            map.put(key, value);
        }
    }

    @Override
    public byte[] putIfAbsent(Bytes key, byte[] value) {
        byte[] existing = map.get(key);
        if (existing == null) {
            put(key, value);
        }
        return existing;
    }

    @Override
    public void putAll(List<KeyValue<Bytes, byte[]>> entries) {
        entries.forEach(entry -> put(entry.key, entry.value));
    }

    @Override
    public byte[] delete(Bytes key) {
        return map.remove(key);
    }

    /** Every entry, in no particular order, as it was when called (the store may change while iterating). */
    @Override
    public KeyValueIterator<Bytes, byte[]> all() {
        List<KeyValue<Bytes, byte[]>> snapshot = new ArrayList<>(map.size());
        map.forEach((key, value) -> snapshot.add(KeyValue.pair(key, value)));
        Iterator<KeyValue<Bytes, byte[]>> entries = snapshot.iterator();
        return new KeyValueIterator<>() {
            private KeyValue<Bytes, byte[]> next;

            @Override
            public boolean hasNext() {
                return next != null || entries.hasNext();
            }

            @Override
            public KeyValue<Bytes, byte[]> next() {
                if (next != null) {
                    KeyValue<Bytes, byte[]> current = next;
                    next = null;
                    return current;
                }
                return entries.next();
            }

            @Override
            public Bytes peekNextKey() {
                if (next == null) {
                    next = entries.next();
                }
                return next.key;
            }

            @Override
            public void close() {
            }
        };
    }

    /** Not supported: a hash map has no key order. */
    @Override
    public KeyValueIterator<Bytes, byte[]> range(Bytes from, Bytes to) {
        throw new UnsupportedOperationException(name + " keeps no key order; read it by key or all at once");
    }

    @Override
    public long approximateNumEntries() {
        return map.size();
    }

    @Override
    public void flush() {
        // Nothing to write: the changelog is written on every change by the change-logging layer.
    }

    @Override
    public void close() {
        map.clear();
        open = false;
    }

    @Override
    public boolean persistent() {
        return false;
    }

    @Override
    public Position getPosition() {
        return position;
    }

    @Override
    public boolean isOpen() {
        return open;
    }
}
