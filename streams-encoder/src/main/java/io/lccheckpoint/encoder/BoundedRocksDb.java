package io.lccheckpoint.encoder;

import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

/**
 * With a memory budget: every RocksDB store of the instance shares one block cache and one write-buffer manager
 * counted against it (Kafka Streams' documented way to bound RocksDB's off-heap memory), instead of each store taking
 * its own (about 50 MB of cache and 3 x 16 MB of memtables per store by default: per partition of every job).
 */
public final class BoundedRocksDb implements RocksDBConfigSetter {
    static final String BYTES_CONFIG = "lcckpt.rocksdb.bytes";
    private static Cache cache;
    private static WriteBufferManager writeBuffers;

    private static synchronized void init(long bytes) {
        if (cache == null) {
            org.rocksdb.RocksDB.loadLibrary();
            cache = new LRUCache(bytes, -1, false, 0.1);
            writeBuffers = new WriteBufferManager(bytes / 2, cache);
        }
    }

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        Object bytes = configs.get(BYTES_CONFIG);
        init(bytes == null ? 32L << 20 : Long.parseLong(bytes.toString()));
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        table.setBlockCache(cache);
        table.setCacheIndexAndFilterBlocks(true);
        options.setWriteBufferManager(writeBuffers);
        options.setWriteBufferSize(Math.min(options.writeBufferSize(), 4L << 20));
        options.setMaxWriteBufferNumber(2);
        options.setTableFormatConfig(table);
    }

    @Override
    public void close(String storeName, Options options) {
        // the cache and the write-buffer manager are shared by every store of the process: never closed here
    }
}
