package io.lccheckpoint.cli;

import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/** A real single-node KRaft cluster in this JVM (Kafka's own test kit), on 127.0.0.1, data in a temp dir. */
final class KafkaCluster implements AutoCloseable {
    private final KafkaClusterTestKit kit;

    private KafkaCluster(KafkaClusterTestKit kit) {
        this.kit = kit;
    }

    /** One combined broker+controller; optionally an eager log cleaner so that compaction can be observed. */
    static KafkaCluster start(boolean eagerCleaner) throws Exception {
        KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(
                new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("message.max.bytes", Integer.toString(8 << 20));
        if (eagerCleaner) {
            builder.setConfigProp("log.cleaner.backoff.ms", "200")
                    .setConfigProp("log.cleaner.min.cleanable.ratio", "0.01")
                    .setConfigProp("log.segment.bytes", Integer.toString(1 << 20))
                    .setConfigProp("log.roll.ms", "500")
                    .setConfigProp("log.cleaner.delete.retention.ms", "100")
                    .setConfigProp("log.cleaner.min.compaction.lag.ms", "0");
        }
        KafkaClusterTestKit kit = builder.build();
        kit.format();
        kit.startup();
        kit.waitForReadyBrokers();
        return new KafkaCluster(kit);
    }

    String bootstrapServers() {
        return kit.bootstrapServers();
    }

    @Override
    public void close() throws Exception {
        kit.close();
    }
}
