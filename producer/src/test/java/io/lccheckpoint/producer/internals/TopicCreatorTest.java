package io.lccheckpoint.producer.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lccheckpoint.schema.kafka.Topics;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.MockAdminClient;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The rules TopicCreator applies before it creates a job's topics (logic only: the topics on a real broker are
 * PipelineIT's and FaultsIT's).
 */
class TopicCreatorTest {
    private final Topics topics = new Topics("lcckpt");
    private final MockAdminClient admin = MockAdminClient.create().numBrokers(1).build();

    @AfterEach
    void close() {
        admin.close();
    }

    private void create(String job, int partitions) {
        TopicCreator.create(admin, topics, job, partitions, (short) 1, 1 << 20, Map.of());
    }

    private int partitionsOf(String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
    }

    @Test
    void aJobWithMorePartitionsThanTheOtherJobsIsRefusedNamingTheirTopic() throws Exception {
        create("first", 4);
        create("same", 4);
        create("fewer", 2);
        assertThat(partitionsOf("lcckpt.fewer.raw-deltas")).isEqualTo(2);

        // more partitions than the raw topics the encoder's changelogs were made for: Streams would stop it for every job
        assertThatThrownBy(() -> create("wider", 8))
                .isInstanceOf(KafkaException.class)
                .hasMessageContaining("job wider: lcckpt.topic.partitions is 8, more than the other jobs on topic prefix lcckpt have")
                .hasMessageContaining("lcckpt.first.raw-deltas: 4")
                .hasMessageContaining("Set lcckpt.topic.partitions to at most 4");
        assertThat(admin.listTopics().names().get()).noneMatch(name -> name.startsWith("lcckpt.wider."));
    }

    @Test
    void onlyJobsCountAndAJobsOwnTopicsAreLeftAsTheyAre() throws Exception {
        // a stray raw topic without job topics is the encoder's dead letter, not a job
        admin.createTopics(List.of(new NewTopic("lcckpt.nobody.raw-deltas", 1, (short) 1))).all().get();
        create("first", 4);
        assertThat(partitionsOf("lcckpt.first.raw-deltas")).isEqualTo(4);
        // another prefix is another encoder's
        admin.createTopics(List.of(new NewTopic("other.job.raw-deltas", 16, (short) 1), new NewTopic("other.job.checkpoints", 16, (short) 1)))
                .all().get();
        create("second", 4);
        // an existing job starting again with another setting keeps its topics
        create("first", 8);
        assertThat(partitionsOf("lcckpt.first.raw-deltas")).isEqualTo(4);
    }
}
