// Which threading runtime holds up when other processes load every core: one BERT-base
// layer's four fp32 matmuls (oneDNN) at M rows plus an elementwise pass of our own
// (OpenMP, or tbb::parallel_for with -DUSE_TBB), timed per iteration, linked against
// oneDNN 3.2's GNU OpenMP build (onednn-cpu-gomp) or its TBB build (onednn-cpu-tbb).
// benchmarks/threading_under_load.sh builds both and runs them idle and under load:
//   ./threading_under_load ITERATIONS M     (threads: OMP_NUM_THREADS, or TBB's default)
#include <oneapi/dnnl/dnnl.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cmath>
#ifdef USE_TBB
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#else
#include <omp.h>
#endif
using namespace dnnl; using dt=memory::data_type; using tag=memory::format_tag;
static double now(){return std::chrono::duration<double,std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();}
template<class F> void pfor(long n, F f){
#ifdef USE_TBB
  tbb::parallel_for(tbb::blocked_range<long>(0,n,4096),[&](const tbb::blocked_range<long>& r){f(r.begin(),r.end());});
#else
  #pragma omp parallel
  { int t=omp_get_thread_num(), T=omp_get_num_threads(); f(n*t/T, n*(t+1)/T); }
#endif
}
int main(int argc,char**argv){ int iters=argc>1?atoi(argv[1]):300; long M=argc>2?atol(argv[2]):128;
 engine eng(engine::kind::cpu,0); stream s(eng);
 struct L{long K,N;}; std::vector<L> ls={{768,2304},{768,768},{768,3072},{3072,768}};
 std::vector<matmul> ps; std::vector<memory> A,W,C;
 for(auto l:ls){ matmul::primitive_desc pd(eng, memory::desc({M,l.K},dt::f32,tag::ab), memory::desc({l.K,l.N},dt::f32,tag::any), memory::desc({M,l.N},dt::f32,tag::ab));
   ps.emplace_back(pd); A.emplace_back(pd.src_desc(),eng); W.emplace_back(pd.weights_desc(),eng); C.emplace_back(pd.dst_desc(),eng);
   std::fill_n((float*)A.back().get_data_handle(), M*l.K, 0.01f); }
 std::vector<float> x(M*3072,1.f);
 std::vector<double> ts;
 auto body=[&]{ for(int k=0;k<(int)ps.size();k++){ ps[k].execute(s,{{DNNL_ARG_SRC,A[k]},{DNNL_ARG_WEIGHTS,W[k]},{DNNL_ARG_DST,C[k]}}); s.wait();
      pfor((long)x.size(),[&](long b,long e){ for(long i=b;i<e;i++) x[i]=std::tanh(x[i]*0.5f+0.1f);}); } };
 for(int i=0;i<10;i++) body();
 for(int i=0;i<iters;i++){ double t=now(); body(); ts.push_back(now()-t);}
 std::sort(ts.begin(),ts.end());
 printf("median %.3f ms p90 %.3f p99 %.3f max %.3f\n", ts[ts.size()/2], ts[ts.size()*9/10], ts[ts.size()*99/100], ts.back());
}
