package io.lccheckpoint.embedded;

import java.io.IOException;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;

/**
 * The bytes the brokers wrote to each topic between two {@link #snapshot snapshots}, as the brokers count them (issue #12,
 * item 4), never estimated from what the clients say they sent. Two sources:
 * <ul>
 *   <li>{@link Source#BYTES_IN_METRIC}: the broker's {@code kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=<t>}
 *       {@code Count} over JMX: cumulative bytes of the record batches appended to the topic's leaders (batch headers and
 *       compression included), summed over the given brokers. Used for every topic not named {@code __*}. On Kafka 4.3.1
 *       it also counts the transaction markers the coordinator appends (checked: metric and log growth agree to the byte
 *       on a transactional topic).</li>
 *   <li>{@link Source#LOG_SIZE}: growth of the partition sizes that {@code Admin.describeLogDirs} reports (one replica per
 *       partition, the largest; multiply by the replication factor for disk). Used for the coordinators' own topics
 *       ({@code __consumer_offsets}, {@code __transaction_state}), which the brokers write themselves and which older
 *       brokers leave out of BytesIn, and for every topic when no JMX endpoint answers (a cluster that does not expose
 *       JMX to this user). Log sizes shrink when retention or compaction removes data, so a long measurement under
 *       deletion undercounts; a short one on fresh topics (segments of 1 GiB, nothing cleaned) does not.</li>
 * </ul>
 * The log growth of every topic is kept beside the metric, so the two can be compared.
 */
public final class BrokerBytes implements AutoCloseable {
    /** Where a topic's figure came from. */
    public enum Source {
        BYTES_IN_METRIC("broker BytesInPerSec metric (JMX)"),
        LOG_SIZE("log size growth (describeLogDirs)");

        private final String description;

        Source(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    /** A broker's JMX connector, with the credentials of a read-only user (none: null). */
    public record Jmx(String serviceUrl, String user, String password) {
    }

    /** Counters at one moment: BytesIn per topic (null when JMX did not answer) and log size per partition. */
    public record Snapshot(Map<String, Long> bytesIn, Map<TopicPartition, Long> logSizes) {
    }

    /** One topic between two snapshots: its kind, the bytes counted (from {@code source}) and its log growth. */
    public record TopicBytes(String topic, String kind, long bytes, Source source, long logGrowth) {
    }

    private static final String BYTES_IN = "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=*";

    private final Admin admin;
    private final List<Jmx> endpoints;
    private final Map<Jmx, JMXConnector> connectors = new HashMap<>();

    /** Counts through the brokers of {@code bootstrapServers}, and BytesIn over JMX from {@code endpoints} (none: log sizes only). */
    public BrokerBytes(String bootstrapServers, List<Jmx> endpoints) {
        this.admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers));
        this.endpoints = List.copyOf(endpoints);
    }

    /** The counters now. */
    public Snapshot snapshot() throws InterruptedException, ExecutionException, TimeoutException {
        return new Snapshot(bytesIn(), logSizes());
    }

    /** Per topic that was written between the snapshots (zero-byte topics left out), by topic name. */
    public Map<String, TopicBytes> between(Snapshot from, Snapshot to, Collection<String> applicationIds) {
        Map<String, Long> growth = new TreeMap<>();
        to.logSizes().forEach((partition, size) -> growth.merge(partition.topic(), size - from.logSizes().getOrDefault(partition, 0L), Long::sum));
        Set<String> topics = new java.util.TreeSet<>(growth.keySet());
        if (to.bytesIn() != null) {
            topics.addAll(to.bytesIn().keySet());
        }
        Map<String, TopicBytes> result = new TreeMap<>();
        for (String topic : topics) {
            long logGrowth = growth.getOrDefault(topic, 0L);
            boolean metric = to.bytesIn() != null && from.bytesIn() != null && !topic.startsWith("__");
            long bytes = metric ? to.bytesIn().getOrDefault(topic, 0L) - from.bytesIn().getOrDefault(topic, 0L) : logGrowth;
            if (bytes != 0 || logGrowth != 0) {
                result.put(topic, new TopicBytes(topic, kindOf(topic, applicationIds), bytes, metric ? Source.BYTES_IN_METRIC : Source.LOG_SIZE, logGrowth));
            }
        }
        return result;
    }

    /** Bytes per kind of topic (kinds in alphabetical order), with "total" last. */
    public static Map<String, Long> byKind(Map<String, TopicBytes> topics) {
        Map<String, Long> kinds = new TreeMap<>();
        long total = 0;
        for (TopicBytes topic : topics.values()) {
            kinds.merge(topic.kind(), topic.bytes(), Long::sum);
            total += topic.bytes();
        }
        Map<String, Long> ordered = new java.util.LinkedHashMap<>(kinds);
        ordered.put("total", total);
        return ordered;
    }

    /** The sources the figures came from, e.g. "broker BytesInPerSec metric (JMX); __* topics: log size growth". */
    public static String sources(Map<String, TopicBytes> topics) {
        boolean metric = topics.values().stream().anyMatch(t -> t.source() == Source.BYTES_IN_METRIC);
        return metric ? Source.BYTES_IN_METRIC.description + "; __* topics: " + Source.LOG_SIZE.description
                : Source.LOG_SIZE.description + " for every topic (no JMX)";
    }

    /**
     * The kind of a topic: lc-checkpoint's by their suffix (names from {@code io.lccheckpoint.schema.kafka.Topics}), Kafka
     * Streams' internal topics ({@code <application.id>-<name>-changelog} / {@code -repartition}) one kind per store or
     * repartition name (the application id is cut off when it is one of {@code applicationIds}), the coordinators' topics,
     * and "other".
     */
    public static String kindOf(String topic, Collection<String> applicationIds) {
        switch (topic) {
            case "__consumer_offsets":
                return "consumer-offsets";
            case "__transaction_state":
                return "transaction-state";
            default:
                break;
        }
        for (String internal : List.of("changelog", "repartition")) {
            String suffix = "-" + internal;
            if (topic.endsWith(suffix) && topic.length() > suffix.length()) {
                String stem = topic.substring(0, topic.length() - suffix.length());
                String longest = applicationIds.stream().filter(id -> stem.startsWith(id + "-") && stem.length() > id.length() + 1)
                        .max(java.util.Comparator.comparingInt(String::length)).orElse(null);
                return internal + ":" + (longest == null ? stem : stem.substring(longest.length() + 1));
            }
        }
        // the encoder's own topics end like a job's dead letters: test them first
        for (String kind : List.of("encoder-progress", "encoder-dead-letters", "raw-deltas", "checkpoints", "index", "handover", "dead-letters")) {
            if (topic.endsWith("." + kind)) {
                return kind;
            }
        }
        return "other";
    }

    private Map<TopicPartition, Long> logSizes() throws InterruptedException, ExecutionException, TimeoutException {
        List<Integer> brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).stream().map(Node::id).toList();
        Map<TopicPartition, Long> sizes = new HashMap<>();
        for (Map<String, LogDirDescription> directories : admin.describeLogDirs(brokers).allDescriptions().get(30, TimeUnit.SECONDS).values()) {
            for (LogDirDescription directory : directories.values()) {
                for (Map.Entry<TopicPartition, ReplicaInfo> replica : directory.replicaInfos().entrySet()) {
                    // one copy per partition: the largest replica (the leader's, or a follower that caught up)
                    sizes.merge(replica.getKey(), replica.getValue().size(), Math::max);
                }
            }
        }
        return sizes;
    }

    /** BytesIn per topic summed over the endpoints; null if there are none or one does not answer. */
    private Map<String, Long> bytesIn() {
        if (endpoints.isEmpty()) {
            return null;
        }
        Map<String, Long> counts = new HashMap<>();
        try {
            for (Jmx endpoint : endpoints) {
                MBeanServerConnection connection = connect(endpoint).getMBeanServerConnection();
                for (ObjectName name : connection.queryNames(new ObjectName(BYTES_IN), null)) {
                    String topic = name.getKeyProperty("topic");
                    topic = topic.startsWith("\"") ? ObjectName.unquote(topic) : topic;
                    counts.merge(topic, ((Number) connection.getAttribute(name, "Count")).longValue(), Long::sum);
                }
            }
            return counts;
        } catch (Exception unavailable) {
            // e.g. a broker restarted: connect again next time
            close(connectors.values());
            connectors.clear();
            return null;
        }
    }

    private JMXConnector connect(Jmx endpoint) throws IOException {
        JMXConnector connector = connectors.get(endpoint);
        if (connector == null) {
            Map<String, Object> environment = endpoint.user() == null ? Map.of()
                    : Map.of(JMXConnector.CREDENTIALS, new String[] {endpoint.user(), endpoint.password()});
            connector = JMXConnectorFactory.connect(new JMXServiceURL(endpoint.serviceUrl()), environment);
            connectors.put(endpoint, connector);
        }
        return connector;
    }

    private static void close(Collection<JMXConnector> connectors) {
        for (JMXConnector connector : connectors) {
            try {
                connector.close();
            } catch (IOException ignored) {
                // the broker is gone already
            }
        }
    }

    @Override
    public void close() {
        close(connectors.values());
        admin.close();
    }
}
