package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;

/** The memory budget's model against what coding a chunk really allocates, and the pool's admission. */
class EncoderMemoryTest {

    @Test
    void codingAChunkAllocatesNoMoreThanItsModelledCost() {
        int n = 131_072;
        EncoderSettings settings = new EncoderSettings(Map.of(EncoderSettings.SUPERSTEP_INTERVAL_CONFIG, 3));
        Properties properties = EncoderApp.streamsConfig(settings);
        properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (TopologyTestDriver driver = new TopologyTestDriver(EncoderTopology.build(settings), properties)) {
            TestInputTopic<byte[], byte[]> raw = driver.createInputTopic("lcckpt.mem.raw-deltas", new ByteArraySerializer(), new ByteArraySerializer());
            SplittableRandom random = new SplittableRandom(3);
            long worst = 0;
            for (int step = 0; step <= 12; step++) {
                float[] values = new float[n];
                for (int i = 0; i < n; i++) {
                    values[i] = (float) (random.nextGaussian() * (step == 0 ? 1 : 1e-3));
                }
                byte[] manifest = SingleObjectSerde.encode(new StepManifest("mem", 1L, (long) step, null,
                        List.of(new TensorInfo("w", List.of((long) n), DType.FLOAT32, n, 1, null)), null));
                raw.pipeInput(SingleObjectSerde.encode(new ChunkKey("mem", "", -1)), manifest);
                ByteBuffer bytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(values);
                byte[] value = SingleObjectSerde.encode(new RawDeltaChunk("mem", 1L, (long) step, "w", 0, 1, 1, DType.FLOAT32, step == 0, bytes,
                        RemainingStages.ALL, null, false, false, null, null, null));
                byte[] key = SingleObjectSerde.encode(new ChunkKey("mem", "w", 0));
                long before = threads.getCurrentThreadAllocatedBytes();
                raw.pipeInput(key, value);
                long allocated = threads.getCurrentThreadAllocatedBytes() - before;
                if (step >= 4) {
                    // after warm-up; steps 6, 9 and 12 also write a superstep. The test driver's own copies of the
                    // output records are counted too, so this over-states what a real instance allocates
                    worst = Math.max(worst, allocated);
                }
            }
            System.out.printf("coding a chunk of %d values allocated at most %,d bytes (%.1f per value); the model says %,d%n", n, worst, (double) worst / n, WorkingMemory.cost(n, false));
            assertThat(worst).as("bytes allocated coding one chunk of %d values", n).isLessThanOrEqualTo(WorkingMemory.cost(n, false));
            // and the model is not wildly generous either: within 3x of the measured worst case
            assertThat(WorkingMemory.cost(n, false)).isLessThan(3 * worst);
        }
    }

    @Test
    void theClientsOfAllStreamThreadsShareTheirSliceOfTheBudget() {
        long budget = 256L << 20;
        Map<String, Object> one = EncoderApp.budgetedMemory(new EncoderSettings(Map.of()), budget, 1 << 20);
        Map<String, Object> four = EncoderApp.budgetedMemory(new EncoderSettings(Map.of(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 4)), budget, 1 << 20);
        String producerBuffer = StreamsConfig.producerPrefix(org.apache.kafka.clients.producer.ProducerConfig.BUFFER_MEMORY_CONFIG);
        String fetch = StreamsConfig.consumerPrefix(org.apache.kafka.clients.consumer.ConsumerConfig.FETCH_MAX_BYTES_CONFIG);
        // one producer per thread (exactly-once v2), one consumer per thread and the restore consumer: their sum stays at 10%
        assertThat((long) four.get(producerBuffer) * 4).isLessThanOrEqualTo((long) (0.10 * budget)).isLessThan((long) one.get(producerBuffer) * 4);
        assertThat((long) (int) four.get(fetch) * 5).isLessThanOrEqualTo((long) (0.10 * budget));
        assertThat((long) (int) one.get(fetch) * 2).isLessThanOrEqualTo((long) (0.10 * budget));
        // the shares of the instance as a whole do not depend on the threads
        assertThat(four.get(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG)).isEqualTo(one.get(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG));
    }

    @Test
    void chunksThatDoNotFitWaitAndThePoolIsNeverExceeded() throws Exception {
        WorkingMemory pool = new WorkingMemory(1000, 60_000);
        AtomicLong held = new AtomicLong();
        AtomicLong most = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int w = 0; w < 6; w++) {
            long cost = 300 + 50 * w;
            workers.add(new Thread(() -> {
                try {
                    start.await();
                    for (int k = 0; k < 200; k++) {
                        long taken = pool.acquire(cost);
                        most.accumulateAndGet(held.addAndGet(taken), Math::max);
                        Thread.onSpinWait();
                        held.addAndGet(-taken);
                        pool.release(taken);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        workers.forEach(Thread::start);
        start.countDown();
        for (Thread worker : workers) {
            worker.join(60_000);
            assertThat(worker.isAlive()).isFalse();
        }
        assertThat(most.get()).isLessThanOrEqualTo(1000);
        assertThat(pool.peak()).isLessThanOrEqualTo(1000);
        assertThat(pool.overruns()).isZero();
        assertThat(pool.inUse()).isZero();
        // deterministically: a chunk that does not fit waits until another releases, then goes on
        long first = pool.acquire(900);
        long waitsBefore = pool.waits();
        AtomicLong second = new AtomicLong(-1);
        Thread waiter = new Thread(() -> {
            try {
                second.set(pool.acquire(300));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        waiter.start();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> pool.waits() > waitsBefore);
        assertThat(second.get()).isEqualTo(-1);
        pool.release(first);
        waiter.join(30_000);
        assertThat(second.get()).isEqualTo(300);
        pool.release(second.get());
        // a chunk larger than the whole pool runs alone instead of waiting forever
        long taken = pool.acquire(5000);
        assertThat(taken).isEqualTo(1000);
        pool.release(taken);
    }
}
