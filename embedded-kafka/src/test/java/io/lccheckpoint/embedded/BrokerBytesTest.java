package io.lccheckpoint.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.kafka.Topics;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BrokerBytesTest {
    private static final List<String> APPLICATION_IDS = List.of("lcckpt-encoder", "lcckpt-bench-lcckpt-bench-state-42");

    @Test
    void lcCheckpointTopicsAreClassifiedByTheirRegistryName() {
        Topics topics = new Topics("lcckpt");
        assertThat(BrokerBytes.kindOf(topics.rawDeltas("job-1"), APPLICATION_IDS)).isEqualTo("raw-deltas");
        assertThat(BrokerBytes.kindOf(topics.checkpoints("job-1"), APPLICATION_IDS)).isEqualTo("checkpoints");
        assertThat(BrokerBytes.kindOf(topics.index("job-1"), APPLICATION_IDS)).isEqualTo("index");
        assertThat(BrokerBytes.kindOf(topics.handover("job-1"), APPLICATION_IDS)).isEqualTo("handover");
        assertThat(BrokerBytes.kindOf(topics.deadLetters("job-1"), APPLICATION_IDS)).isEqualTo("dead-letters");
        assertThat(BrokerBytes.kindOf(topics.encoderProgress(), APPLICATION_IDS)).isEqualTo("encoder-progress");
        assertThat(BrokerBytes.kindOf(topics.encoderDeadLetters(), APPLICATION_IDS)).isEqualTo("encoder-dead-letters");
    }

    @Test
    void streamsInternalTopicsAreOneKindPerStoreWithTheApplicationIdCutOff() {
        assertThat(BrokerBytes.kindOf("lcckpt-encoder-lcckpt-chunk-state-changelog", APPLICATION_IDS)).isEqualTo("changelog:lcckpt-chunk-state");
        assertThat(BrokerBytes.kindOf("lcckpt-bench-lcckpt-bench-state-42-lcckpt-step-progress-changelog", APPLICATION_IDS))
                .isEqualTo("changelog:lcckpt-step-progress");
        assertThat(BrokerBytes.kindOf("lcckpt-encoder-KSTREAM-REPARTITION-0000000003-repartition", APPLICATION_IDS))
                .isEqualTo("repartition:KSTREAM-REPARTITION-0000000003");
        // an application id we were not told: the whole stem names the store
        assertThat(BrokerBytes.kindOf("someone-else-store-changelog", APPLICATION_IDS)).isEqualTo("changelog:someone-else-store");
    }

    @Test
    void coordinatorTopicsAndTheRestHaveTheirOwnKinds() {
        assertThat(BrokerBytes.kindOf("__consumer_offsets", APPLICATION_IDS)).isEqualTo("consumer-offsets");
        assertThat(BrokerBytes.kindOf("__transaction_state", APPLICATION_IDS)).isEqualTo("transaction-state");
        assertThat(BrokerBytes.kindOf("bench.raw-produce", APPLICATION_IDS)).isEqualTo("other");
        assertThat(BrokerBytes.kindOf("-changelog", APPLICATION_IDS)).isEqualTo("other");
    }

    @Test
    void kindsAreSummedWithATotalLast() {
        Map<String, BrokerBytes.TopicBytes> topics = Map.of(
                "a.j1.raw-deltas", new BrokerBytes.TopicBytes("a.j1.raw-deltas", "raw-deltas", 100, BrokerBytes.Source.BYTES_IN_METRIC, 120),
                "a.j2.raw-deltas", new BrokerBytes.TopicBytes("a.j2.raw-deltas", "raw-deltas", 50, BrokerBytes.Source.BYTES_IN_METRIC, 60),
                "__consumer_offsets", new BrokerBytes.TopicBytes("__consumer_offsets", "consumer-offsets", 7, BrokerBytes.Source.LOG_SIZE, 7));
        assertThat(BrokerBytes.byKind(topics)).containsExactly(Map.entry("consumer-offsets", 7L), Map.entry("raw-deltas", 150L), Map.entry("total", 157L));
    }
}
